"""The HTTP layer: app factory, dependencies, error rendering."""
