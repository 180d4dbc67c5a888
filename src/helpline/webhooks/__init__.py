"""Outbound webhooks: per-tenant subscriptions, signed deliveries, retries, a delivery log."""
