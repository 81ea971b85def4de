"""Sync and handover: this device's keys, trusted devices, what each peer holds, exchange history.

All local to this database file (never synced as rows): keys and trust are per machine.
"""

from __future__ import annotations

from peewee import AutoField, IntegerField, TextField

from db.models import BaseModel


class DeviceKey(BaseModel):
    """This database's own keys: Ed25519 for signing, X25519 for receiving encrypted bundles."""

    device_id = TextField(primary_key=True)
    name = TextField(null=True)
    sign_private = TextField()  # base64 raw private key
    sign_public = TextField()
    box_private = TextField()
    box_public = TextField()
    created_at = TextField()
    current = IntegerField(default=1)

    class Meta:
        table_name = "sync_device_key"


class TrustedDevice(BaseModel):
    """Another device whose bundles we accept (and can encrypt to); revocation is kept, not deleted."""

    device_id = TextField(primary_key=True)
    name = TextField(null=True)
    sign_public = TextField()
    box_public = TextField(null=True)
    is_office = IntegerField(default=0)
    added_at = TextField()
    added_by = TextField(null=True)
    revoked_at = TextField(null=True)
    revoked_by = TextField(null=True)

    class Meta:
        table_name = "sync_trusted_device"


class PeerAck(BaseModel):
    """Per peer device, the version vector it is known to hold (from receipts and its bundles)."""

    device_id = TextField(primary_key=True)
    vector = TextField(default="{}")  # JSON {node: counter}
    updated_at = TextField(null=True)

    class Meta:
        table_name = "sync_peer_ack"


class NodeName(BaseModel):
    """Which device wrote under a node id (learnt from bundles), to say who made a change."""

    node = TextField(primary_key=True)
    device_id = TextField(null=True)
    name = TextField(null=True)

    class Meta:
        table_name = "sync_node_name"


class Exchange(BaseModel):
    """One bundle or receipt written or read: the history of handovers."""

    id = AutoField()
    bundle_id = TextField(index=True)
    direction = TextField()  # export | import | receipt_out | receipt_in
    kind = TextField()  # changes | full | receipt
    peer_device = TextField(null=True)
    peer_name = TextField(null=True)
    at = TextField()
    user = TextField(null=True)
    file_name = TextField(null=True)
    ops = IntegerField(default=0)
    summary = TextField(default="{}")  # JSON counts

    class Meta:
        table_name = "sync_exchange"


SYNC_MODELS = [DeviceKey, TrustedDevice, PeerAck, NodeName, Exchange]
