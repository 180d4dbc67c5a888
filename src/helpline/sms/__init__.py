"""SMS: gateways (Kannel, SMPP), templates, messages, delivery reports, inbound."""
