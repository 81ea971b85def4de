"""Accounts: the login and lock dialogs, account management, the audit trail screen."""

from views.accounts.audit_screen import AuditScreen, audit_window
from views.accounts.dialogs import AccountsDialog, LockDialog, LoginDialog, RecoveryKeyDialog

__all__ = ["AccountsDialog", "AuditScreen", "audit_window", "LockDialog", "LoginDialog", "RecoveryKeyDialog"]
