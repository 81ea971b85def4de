"""The accounts of this laptop: a local table (never synced), inside the encrypted database file.

Accounts are local because a password unlocks *this file's* key (its wrapped copy lives in the
key file beside it); each laptop has its own key and its own people. Ops and audit entries carry
the login name, so the office sees who did what without receiving anyone's password material.
"""

from __future__ import annotations

from peewee import IntegerField, TextField

from db.models import BaseModel

ROLE_ADMIN = "admin"  # 社区管理员: everything, user management
ROLE_GRID = "grid"  # 网格员: own grids only
ROLE_READONLY = "readonly"  # 只读: masked data only, no changes
ROLES = (ROLE_ADMIN, ROLE_GRID, ROLE_READONLY)


class Account(BaseModel):
    login = TextField(primary_key=True)
    display_name = TextField(null=True)
    role = TextField()
    grid_ids = TextField(default="")  # comma-separated grid ids (网格员)
    created_at = TextField(null=True)
    disabled = IntegerField(default=0)

    class Meta:
        table_name = "account"


ACCOUNT_MODELS = [Account]
