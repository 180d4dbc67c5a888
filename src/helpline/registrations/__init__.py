"""Registered SIP contacts (registrar bindings) kept in the database."""
