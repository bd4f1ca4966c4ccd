"""Organisations, users, roles, login, API tokens."""
