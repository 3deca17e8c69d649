"""Accounts: users, roles, passwords, tokens and the accounts command line."""
