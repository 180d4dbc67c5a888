"""Work orders (tickets): departments, workflow, SLA, comments, attachments, watchers."""
