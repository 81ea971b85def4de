"""The Account table and the roles (defined in db/models/accounts.py with the other models)."""

from db.models.accounts import ACCOUNT_MODELS, ROLE_ADMIN, ROLE_GRID, ROLE_READONLY, ROLES, Account

__all__ = ["ACCOUNT_MODELS", "ROLE_ADMIN", "ROLE_GRID", "ROLE_READONLY", "ROLES", "Account"]
