"""Organisations, people, memberships and roles, second factors and sessions."""
