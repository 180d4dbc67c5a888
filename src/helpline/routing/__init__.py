"""Inbound routing: access numbers (DIDs), services with schedules and call limits, the
blacklist, and what call control does with each inbound call."""
