"""Accounts, sessions, API tokens, roles and the one permission check (phân quyền)."""
