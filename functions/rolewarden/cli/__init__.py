"""The `rolewarden` command: scan, remediate, restore, the journal, the demo."""
