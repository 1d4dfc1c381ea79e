"""Moving applications off a host role, into task roles of their own (issue 15)."""
