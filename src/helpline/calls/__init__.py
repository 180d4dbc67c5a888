"""Call records: segments, outcomes, dispositions, notes and the queue event log."""
