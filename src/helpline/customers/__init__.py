"""Customer records (CRM): profiles, phone lookup for screen pop, timeline, events."""
