"""Op faults: the same op id (node, counter) seen with different content. Local to this file.

Both versions are kept: ours stays in the op log, the other one is kept here in full (its stored
form, as the op log holds it), with where it came from. `griddesk check` reports every one.
"""

from __future__ import annotations

from peewee import AutoField, IntegerField, TextField

from db.models import BaseModel


class OpFault(BaseModel):
    id = AutoField()
    node = TextField()
    counter = IntegerField()
    ours = TextField()  # JSON list: the op as our log holds it
    theirs = TextField()  # JSON list: the other version
    source = TextField(null=True)  # e.g. the bundle id and sender it came in
    detected_at = TextField()

    class Meta:
        table_name = "sync_op_fault"
        indexes = ((("node", "counter", "theirs"), True),)


SYNC_FAULT_MODELS = [OpFault]
