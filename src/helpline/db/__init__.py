"""Database access: declarative base, engine and sessions, migrations."""
