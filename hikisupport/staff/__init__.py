"""Staff: accounts and roles, login, access decisions, the audit log."""
