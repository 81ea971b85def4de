"""The stored form of an op's `fields` in the op log: column names said once, not in every op.

An op's fields are a JSON object ({"name": "张三", "sex": "男", ...}); a million ops of one table
repeat the same column names a million times (about 40 % of the log). The log keeps them as a BLOB
instead: 8 bytes naming the column list (a row of `oplog_keys`, its id derived from the names, so
ids never depend on the order of writes or on a rolled-back transaction) and the JSON array of
the values. Decoding gives back exactly the JSON text that was written: an op whose text is not
the compact form orjson writes (another writer's spacing, a repeated name) stays TEXT as it came,
and older files' ops are TEXT until migration 14 packs them. Readers take either form through
`text`/`loads`; bundles, the hub and faults see only the JSON text, as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

CREATE_KEYS = ("CREATE TABLE IF NOT EXISTS oplog_keys (id INTEGER NOT NULL PRIMARY KEY, "
               "names TEXT NOT NULL)")

# id -> column names; ids are derived from the names, so one cache serves every database.
_names: dict[int, tuple[str, ...]] = {}
_ids: dict[tuple[str, ...], int] = {}
_prefix: dict[int, bytes] = {}


def key_id(names: tuple[str, ...]) -> int:
    kid = _ids.get(names)
    if kid is None:
        digest = hashlib.blake2b(orjson.dumps(list(names)), digest_size=8).digest()
        kid = _ids[names] = int.from_bytes(digest, "big", signed=True)
        _prefix[kid] = digest
    return kid


class Packer:
    """Packs the fields of many ops written in one transaction; `flush` stores their key rows.

    Call flush before the transaction ends (the key rows go in the same transaction as the ops
    that use them, so a rollback takes both)."""

    def __init__(self, db):
        self.db = db
        self.pending: dict[int, tuple[str, ...]] = {}

    def pack(self, fields: dict[str, Any], text: str | None = None) -> bytes | str:
        """The stored form of `fields` (whose JSON text is `text` when the caller has it)."""
        names = tuple(fields)
        kid = key_id(names)
        if kid not in self.pending:
            if _names.get(kid, names) != names:
                return text if text is not None else orjson.dumps(fields).decode()  # a collision: kept as text
            self.pending[kid] = names
        return _prefix[kid] + orjson.dumps(list(fields.values()))

    def pack_text(self, text: str, fields: dict[str, Any]) -> bytes | str:
        """For an op received as JSON text: packed only if decoding gives the same text back."""
        if type(text) is not str or orjson.dumps(fields) != text.encode():
            return text
        return self.pack(fields, text)

    def flush(self) -> None:
        if not self.pending:
            return
        # Always written (insert or ignore): a key row of an earlier, rolled-back transaction is gone.
        rows = [(kid, orjson.dumps(list(names)).decode()) for kid, names in self.pending.items()]
        self.db.cursor().executemany("insert or ignore into oplog_keys (id, names) values (?, ?)", rows)
        for kid, names_json in rows:
            if kid in _names:
                continue
            stored = self.db.execute_sql("select names from oplog_keys where id = ?", (kid,)).fetchone()[0]
            if stored != names_json:  # pragma: no cover - a 64-bit collision
                raise RuntimeError(f"op log key collision for {names_json}")
            _names[kid] = self.pending[kid]
        self.pending.clear()


def _load(db, kid: int) -> tuple[str, ...]:
    for k, names_json in db.execute_sql("select id, names from oplog_keys"):
        names = tuple(orjson.loads(names_json))
        _names[k] = names
        _ids[names] = k
        _prefix[k] = k.to_bytes(8, "big", signed=True)
    try:
        return _names[kid]
    except KeyError:
        raise ValueError(f"op log: unknown column list {kid}") from None


def loads(db, stored: bytes | str) -> dict[str, Any]:
    """The fields dict of a stored op (either form)."""
    if type(stored) is str:
        return orjson.loads(stored)
    kid = int.from_bytes(stored[:8], "big", signed=True)
    names = _names.get(kid) or _load(db, kid)
    return dict(zip(names, orjson.loads(memoryview(stored)[8:]), strict=True))


def text(db, stored: bytes | str) -> str:
    """The JSON text of a stored op's fields, exactly as it was written."""
    if type(stored) is str:
        return stored
    return orjson.dumps(loads(db, stored)).decode()


def wire_rows(db, rows: Iterable[Sequence], index: int = 4) -> list[tuple]:
    """Rows read from the log with their fields column (at `index`) as JSON text."""
    out = []
    for row in rows:
        stored = row[index]
        if type(stored) is not str:
            row = (*row[:index], text(db, stored), *row[index + 1:])
        out.append(tuple(row))
    return out
