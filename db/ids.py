"""Identities: UUIDv7 row ids (sortable by creation time) and random node ids."""

from __future__ import annotations

import secrets

import uuid_utils


def new_id() -> str:
    """A fresh UUIDv7 as text: the primary key of every synced row."""
    return str(uuid_utils.uuid7())


def new_node_id() -> str:
    """A random 64-bit node id in hex: one per database file."""
    return secrets.token_hex(8)


def op_id(node: str, counter: int) -> str:
    return f"{node}:{counter}"


def split_op_id(value: str) -> tuple[str, int]:
    node, _, counter = value.rpartition(":")
    return node, int(counter)
