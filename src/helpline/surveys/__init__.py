"""Satisfaction surveys: keypad after the call, or an SMS link to a page."""
