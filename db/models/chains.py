"""Origin proofs of ops (db/sync/chains.py): signed chain heads, and what could not be proven.

Local to this database file: the op log holds each op's `prev` (the chain digest of its device's
previous op); these tables hold the heads the devices signed, and the notes about holes, forks
and ops from before chains existed.
"""

from __future__ import annotations

from peewee import AutoField, BlobField, CompositeKey, IntegerField, TextField

from db.models import BaseModel


class ChainHead(BaseModel):
    """A device's signature over the chain digest of its node's op `counter` (covers every op up to it)."""

    node = TextField()
    counter = IntegerField()
    digest = TextField()  # hex sha256
    device_id = TextField()
    sign_public = TextField()  # base64: the device id is derived from it
    signature = TextField()  # base64 Ed25519

    class Meta:
        table_name = "sync_chain_head"
        primary_key = CompositeKey("node", "counter")


class ChainNote(BaseModel):
    """Ops kept without a full proof: a hole in a device's history, a fork, or ops from an older version."""

    id = AutoField()
    node = TextField()
    first = IntegerField()
    last = IntegerField()
    kind = TextField()  # hole | fork | unproven
    source = TextField(null=True)
    detected_at = TextField()

    class Meta:
        table_name = "sync_chain_note"
        indexes = ((("node", "first", "last", "kind"), True),)


class ChainLink(BaseModel):
    """Links (content digests) of a device's ops this database does not hold, received with ops past
    a hole in that device's history (from the hub or a bundle): passed on when those are relayed.
    One row per run of consecutive counters (a scoped laptop keeps many: 32 bytes an op)."""

    node = TextField()
    first = IntegerField()
    data = BlobField()  # the links of counters first, first + 1, ... (32 bytes each)

    class Meta:
        table_name = "sync_chain_link"
        primary_key = CompositeKey("node", "first")


class ChainVoucher(BaseModel):
    """A voucher for a device's signing key (db/sync/chains.py): by the office hub (its certificate's
    key) or by another device; makes the changes that device signed acceptable here and is passed on."""

    device_id = TextField()
    by = TextField()  # the vouching device's id, or "hub"
    sign_public = TextField()  # base64
    name = TextField(null=True)
    signature = TextField()  # base64

    class Meta:
        table_name = "sync_chain_voucher"
        primary_key = CompositeKey("device_id", "by")


CHAIN_MODELS = [ChainHead, ChainNote]
CHAIN_MODELS += [ChainLink, ChainVoucher]  # links across holes, vouched keys (schema 18)
