"""SIP trunks of a tenant: inbound admission, provider registration, outbound routing."""
