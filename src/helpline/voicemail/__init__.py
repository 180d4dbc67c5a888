"""Voicemail: boxes per queue, department or agent, and the messages callers leave."""
