"""Call control and the asyncio transports that drive the sans-IO SIP core."""
