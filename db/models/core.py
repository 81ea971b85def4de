"""Tables of the data core: settings, the op log, the conflict queue. Never synced as rows."""

from __future__ import annotations

from peewee import BlobField, CompositeKey, IntegerField, TextField

from db.models import BaseModel


class Meta(BaseModel):
    """Key-value facts about this database file: node id, clock, op counter, fingerprint."""

    key = TextField(primary_key=True)
    value = TextField(null=True)

    class Meta:
        table_name = "meta"


class Op(BaseModel):
    """One append-only change of one row: op id (node, counter), changed fields, what it supersedes.

    Since migration 17 `oplog` is a view of the compact `oplog_store` (db/opstore.py) with these
    logical columns, the op's rowid in the store, and `rid`, the stored row id that look-ups use."""

    node = TextField()
    counter = IntegerField()
    tbl = TextField()
    row_id = TextField()
    fields = TextField()  # JSON {column: new value}
    supersedes = TextField(default="{}")  # JSON {column: ["node:counter", ...]}
    hlc = TextField()
    user = TextField(null=True)
    schema = IntegerField()
    kind = TextField(default="edit")  # edit | resolve | redact
    prev = BlobField(null=True)  # chain digest of the node's previous op (db/sync/chains.py, version 15)
    rowid = IntegerField()  # the view's: the op's rowid in oplog_store (backups name ops by it)
    rid = BlobField()  # the view's: the row id as stored (db.opstore.rid)

    class Meta:
        table_name = "oplog"
        primary_key = CompositeKey("node", "counter")
        indexes = ()  # the view's table has them (db/opstore.py)


class Conflict(BaseModel):
    """A field with several live values; derived from the op log, waits for a person to decide."""

    tbl = TextField()
    row_id = TextField()
    field = TextField()
    detected_hlc = TextField(null=True)

    class Meta:
        table_name = "conflict"
        primary_key = CompositeKey("tbl", "row_id", "field")


LOCAL_CORE_MODELS = [Meta, Op, Conflict]
