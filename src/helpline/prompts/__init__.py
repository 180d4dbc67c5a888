"""Prompts: system prompt set, tenant prompts, text-to-speech and spoken numbers."""
