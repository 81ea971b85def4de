"""Scope snapshots: a device's first sync reads its scope's current rows instead of the whole feed.

A snapshot of a scope (a device's grids) is taken in one read transaction at the committed
checkpoint C: for every row the scope's feed has named up to C, either the row's ops when the row
is in the scope now (all of them: a later edit names only the op it replaced, so winning ops
alone would leave older values live), or a "leave" when it has left it. That is what a pull from
cursor 0 up to C leaves behind, without the feed's detours (rows that came and went, ops sent
again on each enter, page by page), so a device that applies the snapshot and then pulls after C
ends as a full replay would. Leaves are in it too, so a device that applied part of an older
snapshot drops what left since.

A snapshot is a ready file: built once per scope (in the background when a device enrols for
it), cut into parts, each part's SHA-256 in a manifest signed with the hub's certificate key
(ECDSA; the device checks it against its pinned certificate). Devices of the same grids share
it; one a little behind the checkpoint is still served (the device pulls the rest), a stale one
is rebuilt.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from pathlib import Path

import orjson

from hub import scope as sc
from hub.storage import OP_COLUMNS
from i18n import _

PART_ITEMS = 10_000
# A cached snapshot is served while the scope's feed after it is at most this long (or this share
# of the snapshot): the device pulls that much after it; beyond, the snapshot is built again.
STALE_ENTRIES = 2_000
STALE_SHARE = 0.2
KEEP_OLD_SECONDS = 600  # a replaced snapshot stays readable this long (devices reading its parts)
KEEP_SCOPES = 32  # snapshots kept in memory (the scopes asked for most recently)
MAX_ROWS = 300_000  # a bigger scope (the office's own computer: every grid) reads the feed instead
_ORDER = {t: i for i, level in enumerate((("grid",), *sc.LEVELS)) for t in level}


class TooBig(Exception):
    """A scope too big for one snapshot in memory: the device reads the feed."""


@dataclass
class Snapshot:
    id: str
    epoch: str
    checkpoint: int
    grids: str
    manifest: bytes
    signature: str
    parts: list[bytes]
    items: int
    built_at: float

    proofs: list[bytes] | None = None  # per part: the heads and links its ops are checked with

    def part(self, k: int) -> bytes:
        """The answer for part k: the manifest, its signature and the part's items (bytes as hashed),
        and the origin proofs of its ops (heads and links: they prove themselves, not signed here)."""
        proof = self.proofs[k] if self.proofs else b'"heads":[],"links":{},"vouchers":[]'
        return b"".join((b'{"manifest":', self.manifest, b',"signature":', orjson.dumps(self.signature),
                         b',"part":', str(k).encode(), b',"items":', self.parts[k], b",", proof, b"}"))


def manifest_bytes(manifest: dict) -> bytes:
    return orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS)


def part_digest(items_bytes: bytes) -> str:
    return hashlib.sha256(items_bytes).hexdigest()


def scope_items(storage, conn, grids: frozenset[str] | None) -> tuple[dict, list[list]]:
    """(meta, items) of the scope at the committed checkpoint, read in the caller's read transaction."""
    meta = storage.meta(conn)
    checkpoint = int(meta["committed_seq"])
    base = ("select distinct f.tbl, f.row_id, f.kind, r.scope from hub_feed f "
            "left join hub_row r on r.tbl = f.tbl and r.row_id = f.row_id where f.seq <= ?")
    if grids is None:
        keys = storage.fetchall(conn, base, (checkpoint,))
    else:
        (clause, params), = storage.in_clause("f.grid", sorted(grids | {sc.ALL}))
        keys = storage.fetchall(conn, base + f" and {clause}", (checkpoint, *params))
    if len(keys) > MAX_ROWS:
        raise TooBig(len(keys))
    inside: dict[str, list[str]] = defaultdict(list)
    left: set[tuple[str, str]] = set()
    for tbl, row_id, kind, scope_text in keys:
        current = frozenset({sc.ALL}) if sc.community_wide(tbl) else sc.parse(scope_text)
        if sc.meets(current, grids):
            inside[tbl].append(row_id)
        elif kind == "leave":
            left.add((tbl, row_id))
    items: list[list] = []
    cols = ", ".join((*OP_COLUMNS, "prev"))  # prev: the op's chain link (db/sync/chains.py)
    for tbl in sorted(inside, key=lambda t: (_ORDER.get(t, len(_ORDER)), t)):
        ids = sorted(set(inside[tbl]))
        by_row: dict[str, list] = defaultdict(list)
        for row in storage.select_in(conn, f"select {cols} from hub_op where tbl = ? and {{in}}", "row_id", ids,
                                     (tbl,)):
            by_row[row[3]].append(row)
        for row_id in ids:
            rows = by_row.get(row_id)
            if not rows:
                continue
            for r in sorted(rows, key=lambda r: (r[0], r[1])):
                items.append(["op", *r])
    for tbl, row_id in sorted(left):
        items.append(["leave", tbl, row_id])
    return meta, items


class Snapshots:
    """The hub's snapshots, one per scope, built on demand or in the background."""

    def __init__(self, service, sign_key: Path | None = None):
        self.service = service
        self._key = None
        if sign_key is not None:
            from cryptography.hazmat.primitives import serialization

            self._key = serialization.load_pem_private_key(Path(sign_key).read_bytes(), password=None)
        self._current: OrderedDict[str, Snapshot] = OrderedDict()
        self._by_id: dict[str, tuple[Snapshot, float]] = {}
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._lock = threading.Lock()

    def sign(self, data: bytes) -> str:
        if self._key is None:
            return ""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return base64.b64encode(self._key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()

    def build(self, grids: frozenset[str] | None) -> Snapshot:
        s = self.service.storage
        from hub.service import proof_for

        with s.read() as conn:
            meta, items = scope_items(s, conn, grids)
            proofs = []
            for i in range(0, max(len(items), 1), PART_ITEMS):
                heads, links, vouchers = proof_for(s, conn, [(it[1], it[2]) for it in items[i:i + PART_ITEMS]
                                                             if it[0] == "op"], self.service.sign)
                proofs.append(b'"heads":' + orjson.dumps(heads) + b',"links":' + orjson.dumps(links)
                              + b',"vouchers":' + orjson.dumps(vouchers))
        parts = [orjson.dumps(items[i:i + PART_ITEMS]) for i in range(0, max(len(items), 1), PART_ITEMS)]
        grids_text = sc.ALL if grids is None else sc.dump(grids)
        manifest = {"snapshot": secrets.token_hex(8), "hub_id": meta["hub_id"], "epoch": meta["epoch"],
                    "checkpoint": int(meta["committed_seq"]), "grids": grids_text, "items": len(items),
                    "parts": [part_digest(p) for p in parts], "built_at": int(time.time() * 1000)}
        data = manifest_bytes(manifest)
        snap = Snapshot(manifest["snapshot"], manifest["epoch"], manifest["checkpoint"], grids_text, data,
                        self.sign(data), parts, len(items), time.time(), proofs)
        with self._lock:
            old = self._current.get(grids_text)
            if old is None or old.checkpoint <= snap.checkpoint or old.epoch != snap.epoch:
                self._current[grids_text] = snap
                self._current.move_to_end(grids_text)
                while len(self._current) > KEEP_SCOPES:
                    self._current.popitem(last=False)
            else:
                self._by_id[snap.id] = (snap, time.time() + KEEP_OLD_SECONDS)  # a slower build, already older
                old = None
            if old is not None and old.id != snap.id:
                self._by_id[old.id] = (old, time.time() + KEEP_OLD_SECONDS)
            now = time.time()
            for sid, (_s, until) in list(self._by_id.items()):
                if until and until < now:
                    del self._by_id[sid]
        return snap

    def prepare(self, grids: frozenset[str] | None) -> None:
        """Build the scope's snapshot in the background (a device just enrolled for it)."""
        if grids is None:
            return  # every grid: the feed
        key = sc.dump(grids)

        def work():
            lock = self._locks[key]
            if lock.acquire(blocking=False):
                try:
                    self.build(grids)
                except Exception:  # noqa: BLE001 - built again on request (or too big: the feed)
                    pass
                finally:
                    lock.release()
        threading.Thread(target=work, daemon=True, name="hub-snapshot").start()

    def _lag(self, snap: Snapshot, grids: frozenset[str] | None) -> tuple[str, int]:
        s = self.service.storage
        with s.read() as conn:
            meta = s.meta(conn)
            return meta["epoch"], self.service._pending(conn, grids, snap.checkpoint, int(meta["committed_seq"]))

    def current(self, grids: frozenset[str] | None) -> Snapshot:
        """The scope's snapshot: the cached one while fresh enough, else built now (one build at a time)."""
        key = sc.ALL if grids is None else sc.dump(grids)
        with self._lock:
            snap = self._current.get(key)
            if snap is not None:
                self._current.move_to_end(key)
        if snap is not None:
            epoch, lag = self._lag(snap, grids)
            if epoch == snap.epoch and lag <= max(STALE_ENTRIES, STALE_SHARE * snap.items):
                if lag:
                    self.prepare(grids)  # the next device gets a fresher one
                return snap
        with self._locks[key]:
            fresh = self._current.get(key)
            if fresh is not None and fresh is not snap:
                return fresh  # built by another request meanwhile
            return self.build(grids)

    def by_id(self, snapshot_id: str) -> Snapshot | None:
        with self._lock:
            for snap in self._current.values():
                if snap.id == snapshot_id:
                    return snap
            found = self._by_id.get(snapshot_id)
        return found[0] if found else None

    def answer(self, device, data: dict) -> bytes:
        """The answer to a device's /api/snapshot request: {"epoch", "snapshot" (to go on reading one), "part"}."""
        from hub.service import HubError

        wanted = data.get("snapshot")
        if wanted:
            snap = self.by_id(str(wanted))
            if snap is None or snap.grids != device.grids_text:
                raise HubError(_("The scope snapshot being read was replaced; start reading it again."), 410)
        elif device.grids is None or device.effective_role == sc.ROLE_READONLY:
            # The office's computer (every grid) and a read-only laptop (its numbers masked op by op
            # in the feed) read the feed: a snapshot is shared by every device of a scope, unmasked.
            raise HubError(_("Every grid's data is read from the feed, not from a snapshot."), 404)
        else:
            try:
                snap = self.current(device.grids)
            except TooBig as exc:
                raise HubError(_("Every grid's data is read from the feed, not from a snapshot."), 404) from exc
        if snap.epoch != str(data.get("epoch") or ""):
            raise HubError(_("The hub was restored from a backup (new epoch): sync again from the start."),
                           409, epoch=snap.epoch)
        part = data.get("part") or 0
        if type(part) is not int or not 0 <= part < len(snap.parts):
            raise HubError(_("The scope snapshot has no part {part}.").format(part=part), 400)
        return snap.part(part)
