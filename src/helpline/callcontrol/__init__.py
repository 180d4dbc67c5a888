"""Live-call control from the desktop (CTI): commands on calls, their bus events."""
