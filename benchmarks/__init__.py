"""RoleWarden's performance harness: `make bench` (see README.md)."""
