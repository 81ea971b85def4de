"""Local (never synced) tables of the register: the derived search index and the undo stack.

`register_search` holds one row per live person with everything the register list shows and
filters on (denormalised address, tags, next visit due) plus a lower-case `haystack` of name,
pinyin, initials, ID, phone and address. `register_fts` (FTS5, trigram tokenizer, created in
migration 3) indexes the haystack by the same rowid. Both follow the synced tables through
db.oplog row hooks (db/register/index.py) and can be rebuilt from them at any time.
"""

from __future__ import annotations

from peewee import AutoField, IntegerField, TextField

from db.models import BaseModel


class RegisterSearch(BaseModel):
    rowid = AutoField(column_name="rowid")
    person_id = TextField(unique=True)
    household_id = TextField(null=True)
    membership_id = TextField(null=True)
    grid_id = TextField(null=True)
    compound_id = TextField(null=True)
    building_id = TextField(null=True)
    unit_id = TextField(null=True)
    name = TextField(null=True)
    sex = TextField(null=True)
    birth_date = TextField(null=True)
    id_number = TextField(null=True)
    phone = TextField(null=True)
    relation = TextField(null=True)
    address = TextField(null=True)
    residence_status = TextField(null=True)
    person_type = TextField(null=True)
    status = TextField(null=True)  # active | moved_out | deceased
    tags = TextField(null=True)  # active tag names, "、"-separated
    tag_ids = TextField(null=True)  # ",id1,id2,"
    due_date = TextField(null=True)  # household's next visit due ('' = never visited)
    last_visit = TextField(null=True)
    sort_key = TextField(null=True)
    haystack = TextField(null=True)
    short_key = TextField(null=True)  # name | pinyin | initials | ID | phone (for 1-2 character terms)

    class Meta:
        table_name = "register_search"
        # Single-column indexes list equal keys in rowid order, which is display order.
        indexes = ((("sort_key",), False), (("household_id",), False), (("grid_id",), False),
                   (("compound_id",), False), (("building_id",), False), (("unit_id",), False),
                   (("status",), False))


class RegisterShort(BaseModel):
    """A narrow copy of short_key by rowid: a full scan for 1-2 character terms stays a few ms."""

    rowid = AutoField(column_name="rowid")
    key = TextField()

    class Meta:
        table_name = "register_short"


class RegisterUndo(BaseModel):
    """One user edit (a service call) that can be undone by writing the previous values back."""

    seq = AutoField()
    at = TextField()
    user = TextField(null=True)
    label = TextField()
    payload = TextField()  # JSON [[table, row_id, created, {col: previous}, {col: written}], ...]
    undone = IntegerField(default=0)

    class Meta:
        table_name = "register_undo"


REGISTER_LOCAL_MODELS = [RegisterSearch, RegisterShort, RegisterUndo]
