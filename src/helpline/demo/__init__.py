"""The demo tenant's self-service content and the stand-in back office it talks to."""
