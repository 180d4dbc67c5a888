"""Automatic call distribution: agents' states, queues and their strategies, offers."""
