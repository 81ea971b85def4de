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
    """One append-only change of one row: op id (node, counter), changed fields, what it supersedes."""

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

    class Meta:
        table_name = "oplog"
        primary_key = CompositeKey("node", "counter")
        indexes = ((("tbl", "row_id"), False),)


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
