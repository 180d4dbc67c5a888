"""Short-lived SIP credentials for the agent desktop's browser phone."""
