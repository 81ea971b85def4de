"""peewee models. Synced tables derive from SyncedModel: UUIDv7 text id, `deleted` tombstone.

Every model is bound to `database_proxy`; a Store initialises it (db/store.py). Register your
model in SYNCED_MODELS (synced) or LOCAL_MODELS (this machine only) so migrations, rebuild and
`griddesk check` see it.
"""

from __future__ import annotations

from peewee import DatabaseProxy, IntegerField, Model, TextField

database_proxy = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class SyncedModel(BaseModel):
    """A row whose every change goes through the op log (db/oplog.py)."""

    id = TextField(primary_key=True)
    deleted = IntegerField(default=0)


def fk(model, **kwargs):
    """A foreign key to a synced row: deferred, so rows may arrive in any order in a transaction."""
    from peewee import ForeignKeyField

    kwargs.setdefault("null", True)
    kwargs.setdefault("deferrable", "INITIALLY DEFERRED")
    kwargs.setdefault("on_delete", None)
    return ForeignKeyField(model, **kwargs)


from db.models.accounts import ACCOUNT_MODELS  # noqa: E402
from db.models.chains import CHAIN_MODELS  # noqa: E402
from db.models.core import LOCAL_CORE_MODELS  # noqa: E402
from db.models.ledger import LEDGER_MODELS  # noqa: E402
from db.models.meetings import MEETINGS_MODELS, MEETINGS_OPTION_MODELS  # noqa: E402
from db.models.rare import RARE_MODELS  # noqa: E402
from db.models.register import REGISTER_MODELS  # noqa: E402
from db.models.register_local import REGISTER_LOCAL_MODELS  # noqa: E402
from db.models.sync import SYNC_MODELS  # noqa: E402
from db.models.sync_faults import SYNC_FAULT_MODELS  # noqa: E402
from db.models.volunteers import VOLUNTEER_LOCAL_MODELS, VOLUNTEER_MODELS  # noqa: E402

# One line per area, so work on several registers merges without touching the same line.
SYNCED_MODELS: list[type[SyncedModel]] = [*REGISTER_MODELS]
SYNCED_MODELS += MEETINGS_MODELS
SYNCED_MODELS += MEETINGS_OPTION_MODELS  # motions with several options (migration 16)
SYNCED_MODELS += RARE_MODELS  # readings of rare characters (issue 15)
SYNCED_MODELS += VOLUNTEER_MODELS
LOCAL_MODELS: list[type[BaseModel]] = [*LOCAL_CORE_MODELS, *REGISTER_LOCAL_MODELS, *LEDGER_MODELS, *SYNC_MODELS]
LOCAL_MODELS += VOLUNTEER_LOCAL_MODELS
LOCAL_MODELS += ACCOUNT_MODELS
LOCAL_MODELS += SYNC_FAULT_MODELS
LOCAL_MODELS += CHAIN_MODELS  # origin proofs (issue 18 part 4)


def synced_model(table: str) -> type[SyncedModel] | None:
    for model in SYNCED_MODELS:
        if model._meta.table_name == table:
            return model
    return None
