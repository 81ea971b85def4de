"""Bundles between devices: export what a peer lacks (or everything), verify, preview, import, receipts.

A bundle carries ops (db/oplog.py) plus a manifest: format and schema versions, bundle id, sender,
the sender's version vector, counter ranges and counts. Import verifies the whole file first
(db/sync/bundle.py), then applies every op in one transaction; importing twice changes nothing.
Bundles are streamed: export writes the ops into the sealed file as they are read from the log;
import reads the file twice, a first pass that verifies it whole (verify_bundle) and a second that
applies it batch by batch in the one transaction (_apply). Memory does not grow with the bundle.
The receiver answers with a receipt (its version vector) so the sender knows what it now holds,
and exports for that peer start from there.

The sync invariants (DESIGN.md) hold here: a receipt, or the vector of a bundle a peer sent,
replaces what we believe it holds (db/sync/beliefs.py); a bundle whose `since` assumes more than
the receiver holds is refused whole (beliefs.GapError); an op id already here with different
content is a fault, kept and reported (db/sync/faults.py); the import commits with
synchronous=FULL and bundles and receipts are written only after what they promise is on disk
(db/durable.py).
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson

from db import durable, migrations, opfields, oplog
from db.bulk import bulk_gc
from db.errors import Cancelled
from db.ids import new_id
from db.models import synced_model
from db.models.sync import Exchange, NodeName, TrustedDevice
from db.register.community import COMMUNITY_KEY
from db.sync import beliefs, chains, faults
from db.sync import bundle as container
from db.sync.files import dated_name
from db.sync.identity import SyncError, fingerprint, identity, now_iso, unb64
from db.sync.labels import table_label
from db.sync.usb import safe_write, safe_write_with
from i18n import _

APP_VERSION = "0.1.0"
KINDS = ("changes", "full", "receipt")
BULK_OPS = 20_000  # from this many new ops an import runs in bulk mode (see _bulk_mode)
OPS_PER_BATCH = 10_000  # ops read, checked and merged at a time (memory does not grow with the bundle)
BULK_CACHE_KIB = 48_000  # the page cache of a bulk import at most (it counts in the memory used)
_HLC = re.compile(r"^\d{16}-\d{6}-\S+$")
Progress = Callable[[int, int], None] | None
IsCancelled = Callable[[], bool] | None


@dataclass
class Bundle:
    """A verified bundle: nothing of it has been applied yet.

    Its ops are not held in memory: op_batches() reads them again from the file (or the bytes) it
    was verified from, batch by batch (the second pass; see db/sync/bundle.py)."""

    header: dict
    manifest: dict
    source: bytes | Path  # what it was verified from
    verified: container.Verified
    op_count: int = 0
    node_counts: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # node: (ops, lowest, highest)
    newly_trusted: dict | None = None  # the sender, trusted on first use by explicit choice
    needs_trust: bool = False  # verified, but the sender is unknown and not confirmed yet
    file_name: str | None = None  # the file it was read from, for the exchange history
    proof: Any = None  # chains.Proof: what verify_origins found (heads and notes kept on import)

    def _open(self):
        if isinstance(self.source, (bytes, bytearray, memoryview)):
            return io.BytesIO(self.source)
        try:
            return open(self.source, "rb")
        except OSError as exc:
            raise container._changed() from exc

    def op_batches(self, size: int | None = None) -> Iterator[list[oplog.OpRecord]]:
        """The bundle's ops, checked again, in batches of at most `size` (OPS_PER_BATCH). The file must
        still be the one verified: otherwise SyncError is raised, at the latest after the last batch."""
        with self._open() as fh:
            parts = _payload_parts(container.payload(fh, self.verified), size or OPS_PER_BATCH)
            if next(parts) != self.manifest:
                raise container._changed()
            n = 0
            for raw in parts:
                ops = _parse_ops(raw, first=n)
                n += len(ops)
                yield ops
            if n != self.op_count:
                raise container._changed()

    @property
    def ops(self) -> list[oplog.OpRecord]:
        """All ops at once (small bundles, tests); large ones are read with op_batches()."""
        return [op for batch in self.op_batches() for op in batch]

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def bundle_id(self) -> str:
        return self.manifest["bundle_id"]

    @property
    def sender_id(self) -> str:
        return self.manifest["sender"]["device_id"]

    @property
    def sender_name(self) -> str:
        return self.manifest["sender"].get("name") or fingerprint(self.sender_id)

    @property
    def community(self) -> str:
        """The sending register's community name ("" from older versions or a register without one)."""
        value = self.manifest.get("community")
        return value if isinstance(value, str) else ""


@dataclass
class Summary:
    """What an import did (or, for a preview, would do)."""

    bundle_id: str
    kind: str
    sender_name: str
    sender_id: str
    ops: int = 0
    new_ops: int = 0
    duplicate_ops: int = 0
    new_rows: dict[str, int] = field(default_factory=dict)
    updated_rows: dict[str, int] = field(default_factory=dict)
    new_conflicts: int = 0
    by_user: dict[str, int] = field(default_factory=dict)
    newer_schema_ops: int = 0
    skewed: bool = False
    copied_node_detected: bool = False
    faults: int = 0  # op ids already here with different content (kept, see db/sync/faults.py)
    peer_lost: int = 0  # a receipt: changes the peer said it held before and no longer holds
    already_imported: bool = False
    dry_run: bool = False
    backup_seconds: float = 0.0  # the safety copy of the database made before importing
    backup_file: str = ""  # that copy (a recent one when nothing was written since it)
    backup_made: bool = False  # False: the newest backup already held everything, none was needed
    derived_seconds: float = 0.0  # time spent refreshing derived data (search index) of the rows
    changes: list[oplog.Change] = field(default_factory=list)
    community: str = ""  # the sender's community name, taken by a receiving register that has none

    @property
    def total_new_rows(self) -> int:
        return sum(self.new_rows.values())

    @property
    def total_updated_rows(self) -> int:
        return sum(self.updated_rows.values())

    def as_dict(self) -> dict[str, Any]:
        return {"ops": self.ops, "new_ops": self.new_ops, "new_rows": self.new_rows,
                "updated_rows": self.updated_rows, "new_conflicts": self.new_conflicts,
                "by_user": self.by_user, "newer_schema_ops": self.newer_schema_ops, "skewed": self.skewed,
                "backup_file": self.backup_file, "backup_made": self.backup_made, "faults": self.faults}


# -- vectors and acknowledgements -----------------------------------------------------------------

def peer_vector(store, device_id: str) -> dict[str, int]:
    """What `device_id` last said it holds (beliefs.stored_belief)."""
    return beliefs.stored_belief(store, device_id)


def node_names(store) -> dict[str, tuple[str | None, str | None]]:
    """node id -> (device id, device name), including this device's current and earlier nodes."""
    me = identity(store)
    with store.activated():
        names = {n.node: (n.device_id, n.name) for n in NodeName.select()}
    for node in [store.node_id, *(store.get_meta("previous_node_ids") or "").split(",")]:
        if node:
            names[node] = (me.device_id, me.name)
    return names


def _learn_nodes(store, nodes: dict[str, list]) -> None:
    mine = {store.node_id, *(store.get_meta("previous_node_ids") or "").split(",")}
    rows = [{"node": n, "device_id": v[0], "name": v[1]} for n, v in nodes.items()
            if n not in mine and isinstance(v, list) and len(v) == 2]
    if rows:
        with store.activated():
            NodeName.insert_many(rows).on_conflict_replace().execute()


def _record(store, **values) -> None:
    with store.activated():
        Exchange.create(at=now_iso(), user=store.user, **values)
    from db.accounts.audit import record_exchange

    record_exchange(store, **values)


# -- export ---------------------------------------------------------------------------------------

def _plan_ops(store, since: dict[str, int]):
    """What an export carries, without reading the ops: per node the counter range (first and last
    carried), per table the number of ops, the total, and the version vector this database can prove
    (the ops are streamed afterwards).

    A laptop synced with the office hub holds only its grids' ops of other devices: their
    counters have holes. The bundle carries every op held, also those past a hole (stopping at
    the first one lost them for the receiver), while its vector claims only the contiguous part."""
    top = oplog.version_vector(store.db)
    ranges: dict[str, list[int]] = {}
    tables: Counter = Counter()
    nodes = sorted(top)
    if store.get_meta("hub_role") == "readonly":  # db.sync.hub_client.ROLE_META
        # The office hub sends a read-only laptop others' ops with the personal numbers masked:
        # they are no changes (the real ones are at the hub), so only its own ops leave it.
        own = {store.node_id, *(store.get_meta("previous_node_ids") or "").split(",")}
        nodes = [n for n in nodes if n in own]
    for node in nodes:
        lo = since.get(node, 0)
        first = last = None
        for tbl, n, a, b in store.db.execute_sql(
                "select tbl, count(*), min(counter), max(counter) from oplog where node = ? and counter > ? "
                "group by tbl", (node, lo)):
            tables[tbl] += n
            first = a if first is None else min(first, a)
            last = b if last is None else max(last, b)
        if first is not None:
            ranges[node] = [first, last]
    return ranges, dict(tables), sum(tables.values()), top


def _stream_ops(store, writer, ranges: dict[str, list[int]], total: int, progress: Progress,
                cancelled: IsCancelled) -> int:
    """Write the ops of `ranges` as the payload's JSON array, one op per line ("[", op ",", ..., "]"):
    plain JSON for older readers, read line by line by this one. Returns how many were written."""
    sql = (f"select {oplog._OP_COLUMNS}, lower(hex(prev)) from oplog where node = ? and counter >= ? "
           "and counter <= ? order by counter")
    dumps = orjson.dumps
    wire = opfields.wire_rows  # the op's JSON text, as it was written (the log stores it packed)
    written = 0
    writer.write(b"[\n")
    for node, (lo, hi) in ranges.items():
        cursor = store.db.execute_sql(sql, (node, lo, hi))
        while True:
            rows = cursor.fetchmany(5_000)
            if not rows:
                break
            rows = wire(store.db, rows)
            if written:
                writer.write(b",\n")
            writer.write(b",\n".join(map(dumps, rows)))
            before = written
            written += len(rows)
            if written // 20_000 != before // 20_000:
                if cancelled and cancelled():
                    raise Cancelled(_("The export was cancelled; nothing was written."))
                if progress:
                    progress(written, total)
    writer.write(b"\n]")
    return written


def _manifest(store, kind: str, *, recipient: str | None, since: dict, vector: dict, ranges: dict,
              counts: dict, ops: int, extra: dict | None = None) -> dict:
    me = identity(store)
    nodes = {n: [d, name] for n, (d, name) in node_names(store).items()}
    manifest = {"format": container.FORMAT_VERSION, "kind": kind, "bundle_id": new_id(),
                "app_version": APP_VERSION, "schema": migrations.SCHEMA_VERSION,
                "sender": {"device_id": me.device_id, "name": me.name, "node": store.node_id,
                           "user": store.user,
                           # Nodes this device wrote under before (a restore or a copy took a new
                           # one): their counters stop where they are.
                           "retired_nodes": [n for n in (store.get_meta("previous_node_ids") or "").split(",") if n]},
                "recipient": recipient, "created_at": now_iso(), "since": since, "vector": vector,
                "ranges": ranges, "counts": {"ops": ops, "tables": counts}, "nodes": nodes,
                # Not synced (a per-file meta value): a receiving laptop learns its community's name here.
                "community": store.get_meta(COMMUNITY_KEY) or None}
    manifest.update(extra or {})
    return manifest


def _sealer(store, manifest: dict, fh, recipients: list[dict], passphrase: str | None) -> container.SealWriter:
    """A writer of the sealed bundle into fh; the manifest line is already written to it."""
    me = identity(store)
    fields = {"bundle_id": manifest["bundle_id"], "kind": manifest["kind"], "app_version": APP_VERSION,
              "created_at": manifest["created_at"], "box_public": container.b64(me.box_public)}
    writer = container.SealWriter(fh, sender=me, header_fields=fields,
                                  recipients=[(d["device_id"], unb64(d["box_public"])) for d in recipients],
                                  passphrase=passphrase)
    writer.write(json.dumps(manifest, ensure_ascii=False).encode("utf-8") + b"\n")
    return writer


def _seal(store, manifest: dict, ops_json: bytes, recipients: list[dict], passphrase: str | None) -> bytes:
    out = io.BytesIO()
    writer = _sealer(store, manifest, out, recipients, passphrase)
    writer.write(ops_json)
    writer.close()
    return out.getvalue()


def _recipient(store, device: str) -> dict:
    from db.sync.identity import find_device

    found = find_device(store, device)
    if found["revoked_at"]:
        raise SyncError(_("Device “{name}” was revoked; bundles are no longer made for it.").format(
            name=found["name"]))
    return found


@dataclass
class Exported:
    data: bytes  # the bundle (b"" when it was written straight to a file: see size)
    manifest: dict
    file_name: str
    size: int = 0

    @property
    def ops(self) -> int:
        return self.manifest["counts"]["ops"]


def _write_bundle(store, fh, *, for_device: str | None, full: bool, passphrase: str | None,
                  also_for: tuple[str, ...], progress: Progress, cancelled: IsCancelled) -> dict:
    """Write a bundle into fh as the ops are read (bounded memory); returns its manifest."""
    if not for_device and not full:
        raise SyncError(_("Choose a receiving device, or a full handover."))
    recipients = [_recipient(store, d) for d in ([for_device] if for_device else []) + list(also_for)]
    if not recipients and not passphrase:
        raise SyncError(_("A full handover without a receiving device needs a passphrase."))
    # What leaves this machine must be on disk: an op exported and then lost here in a power cut
    # would have its number written again with other content.
    durable.make_durable(store)
    since = {} if full or not for_device else peer_vector(store, recipients[0]["device_id"])
    ranges, tables, total, vector = _plan_ops(store, since)
    heads = chains.heads_for(store, ranges)
    manifest = _manifest(store, "full" if full else "changes",
                         recipient=recipients[0]["device_id"] if recipients else None,
                         since=since, vector=vector, ranges=ranges, counts=tables, ops=total,
                         extra={"heads": heads, "links": chains.links_for(store, ranges),
                                "vouchers": chains.vouchers_for(store, heads)})
    writer = _sealer(store, manifest, fh, recipients, passphrase)
    written = _stream_ops(store, writer, ranges, total, progress, cancelled)
    if written != total:  # ops are never removed from the log: not expected
        raise SyncError(_("The change log changed while the bundle was written; nothing was written. "
                          "Export again."))
    writer.close()
    return manifest


def export_bundle(store, *, for_device: str | None = None, full: bool = False, passphrase: str | None = None,
                  also_for: tuple[str, ...] = (), progress: Progress = None,
                  cancelled: IsCancelled = None) -> Exported:
    """Build a bundle in memory: the ops `for_device` lacks (from its acknowledged vector) or, with
    full, all. (export_to_file writes a large one straight to its file instead.)"""
    out = io.BytesIO()
    manifest = _write_bundle(store, out, for_device=for_device, full=full, passphrase=passphrase,
                             also_for=also_for, progress=progress, cancelled=cancelled)
    data = out.getvalue()
    return Exported(data, manifest, dated_name(None, "GD", "GDB"), len(data))


def export_to_file(store, path: Path, *, for_device: str | None = None, full: bool = False,
                   passphrase: str | None = None, also_for: tuple[str, ...] = (), progress: Progress = None,
                   cancelled: IsCancelled = None) -> Exported:
    """Export and write FAT32-safely (streamed to the file, read back and verified); records the exchange."""
    path = Path(path)
    if path.is_dir():
        path = path / dated_name(path, "GD", "GDB")
    found: dict = {}

    def write(fh) -> None:
        found["manifest"] = _write_bundle(store, fh, for_device=for_device, full=full, passphrase=passphrase,
                                          also_for=also_for, progress=progress, cancelled=cancelled)

    size = safe_write_with(path, write)
    m = found["manifest"]
    exported = Exported(b"", m, str(path), size)
    names = {d["device_id"]: d["name"] for d in _all_devices(store)}
    _record(store, bundle_id=m["bundle_id"], direction="export", kind=m["kind"], peer_device=m["recipient"],
            peer_name=names.get(m["recipient"]), file_name=str(path), ops=exported.ops,
            summary=json.dumps({"tables": m["counts"]["tables"]}))
    return exported


def _all_devices(store) -> list[dict]:
    from db.sync.identity import trusted_devices

    return trusted_devices(store)


# -- reading and verifying ------------------------------------------------------------------------

def _normal_fp(text: str | None) -> str:
    return (text or "").replace("-", "").replace(" ", "").strip().lower()


def unknown_sender_error(name: str | None, device_id: str) -> SyncError:
    """The message for a bundle whose sender is not trusted yet, naming the ways to trust it."""
    return SyncError(_("The bundle comes from an unknown device “{name}” ({device}). Add its device card under "
                       "Sync and handover → This device and trusted devices first; or compare this fingerprint "
                       "with the sender and tick “Trust a new sender with this fingerprint” on the import screen "
                       "(command line: --trust-sender {device}). Nothing was imported."
                       ).format(name=name or "?", device=fingerprint(device_id)))


def _check_sender(store, trust_sender: str | None, allow_unknown: bool = False):
    def check(header: dict) -> bytes:
        sender = header["sender"]
        with store.activated():
            device = TrustedDevice.get_or_none(TrustedDevice.device_id == sender)
        if device is None:
            wanted = _normal_fp(trust_sender)
            if (wanted and wanted == sender) or allow_unknown:
                # The device id is a hash of the signing key: the fingerprint vouches for the key.
                return unb64(header["sign_public"])
            if wanted:
                raise SyncError(_("The fingerprint you entered ({given}) is not the sender's ({device}). "
                                  "Nothing was imported.").format(given=trust_sender, device=fingerprint(sender)))
            raise unknown_sender_error(header.get("sender_name"), sender)
        if device.revoked_at:
            raise SyncError(_("The bundle comes from device “{name}” ({device}), which was revoked on {when}. "
                              "Nothing was imported.").format(name=device.name, device=fingerprint(sender),
                                                              when=device.revoked_at[:10]))
        return unb64(device.sign_public)
    return check


def _malformed(i: int) -> SyncError:
    return SyncError(_("The bundle's change {n} is malformed. Nothing was imported.").format(n=i + 1))


def _parse_op(i: int, r) -> oplog.OpRecord:
    """One op, checked field by field (the slow path: it names the first malformed change)."""
    try:
        node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind, *extra = r
        prev = _prev(extra)
        if not (isinstance(node, str) and isinstance(counter, int) and counter > 0 and isinstance(tbl, str)
                and isinstance(row_id, str) and isinstance(hlc, str) and _HLC.match(hlc)
                and isinstance(schema, int) and isinstance(kind, str) and (user is None or isinstance(user, str))):
            raise ValueError
        f = orjson.loads(fields)
        s = orjson.loads(supersedes)
        if not isinstance(f, dict) or not isinstance(s, dict):
            raise ValueError
    except (ValueError, TypeError) as exc:
        raise _malformed(i) from exc
    return oplog.OpRecord(node, counter, tbl, row_id, f, s, hlc, user, schema, kind, r[:10] if extra else r, prev)


def _prev(extra: list) -> bytes | None:
    """The 11th element of a bundle's op: the hex chain digest of the node's previous op ("": none)."""
    if not extra:
        return None
    if len(extra) != 1 or type(extra[0]) is not str:
        raise ValueError
    prev = bytes.fromhex(extra[0]) if extra[0] else None
    if prev is not None and len(prev) != 32:
        raise ValueError
    return prev


def _parse_ops(raw: list, first: int = 0) -> list[oplog.OpRecord]:
    """Check and decode every op; on any problem the op-by-op path names the first malformed one.
    first: the number of ops before these in the bundle (for that name)."""
    ops = []
    append = ops.append
    loads = orjson.loads
    match = _HLC.match
    record = oplog.OpRecord
    try:
        for r in raw:
            node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind, *extra = r
            if not (type(node) is str and type(counter) is int and counter > 0 and type(tbl) is str
                    and type(row_id) is str and type(hlc) is str and match(hlc) and type(schema) is int
                    and type(kind) is str and (user is None or type(user) is str)):
                raise ValueError
            f = loads(fields)
            s = {} if supersedes == "{}" else loads(supersedes)
            if type(f) is not dict or type(s) is not dict:
                raise ValueError
            append(record(node, counter, tbl, row_id, f, s, hlc, user, schema, kind, r[:10] if extra else r,
                          _prev(extra)))
    except (ValueError, TypeError):
        return [_parse_op(first + i, r) for i, r in enumerate(raw)]  # raises, naming the change
    return ops


def _content_malformed() -> SyncError:
    return SyncError(_("The bundle's content is malformed. Nothing was imported."))


def _payload_parts(pieces: Iterator[bytes], size: int) -> Iterator[dict | list]:
    """Split a decompressed payload: yields the manifest (a dict), then the raw ops (JSON lists) in
    lists of at most `size`. The whole payload is always consumed (the caller's checks at its end).

    The ops are one per line in bundles of this version ("[", op ",", ..., op, "]"); bundles written
    by earlier versions hold the array on one line: it is then parsed whole, as they were."""
    pieces = iter(pieces)
    buf = bytearray()

    def more() -> bool:
        piece = next(pieces, None)
        if piece is None:
            return False
        buf.extend(piece)
        return True

    while b"\n" not in buf and more():
        pass
    end = buf.find(b"\n")
    try:
        manifest = json.loads(bytes(buf[:end] if end >= 0 else buf))
    except ValueError as exc:
        raise _content_malformed() from exc
    if not isinstance(manifest, dict) or manifest.get("kind") not in KINDS:
        raise _content_malformed()
    del buf[:end + 1 if end >= 0 else len(buf)]
    yield manifest
    while len(buf) < 2 and more():
        pass
    if buf[:2] != b"[\n":
        while more():
            pass
        try:
            raw = orjson.loads(buf) if bytes(buf).strip() else []
        except orjson.JSONDecodeError as exc:
            raise _content_malformed() from exc
        del buf[:]
        if not isinstance(raw, list):
            raise _content_malformed()
        for start in range(0, len(raw), size):
            yield raw[start:start + size]
        return
    del buf[:2]
    lines: list[bytes] = []
    ended = False
    while True:
        cut = buf.rfind(b"\n")
        if cut >= 0:
            for line in bytes(buf[:cut]).split(b"\n"):
                if ended:
                    if line.strip():
                        raise _content_malformed()
                elif line == b"]":
                    ended = True
                elif line:
                    lines.append(line[:-1] if line.endswith(b",") else line)
            del buf[:cut + 1]
        while len(lines) >= size or (lines and ended):
            take, lines = lines[:size], lines[size:]
            try:
                raw = orjson.loads(b"[" + b",".join(take) + b"]")
            except orjson.JSONDecodeError as exc:
                raise _content_malformed() from exc
            yield raw
        if not more():
            break
    tail = bytes(buf).strip()
    if not ended and tail == b"]":
        ended = True
    elif tail:
        raise _content_malformed()
    if lines:
        try:
            raw = orjson.loads(b"[" + b",".join(lines) + b"]")
        except orjson.JSONDecodeError as exc:
            raise _content_malformed() from exc
        yield raw
    if not ended:
        raise _content_malformed()


@dataclass
class _Checked:
    manifest: dict
    ops: int
    nodes: dict[str, tuple[int, int, int]]
    proof: Any = None  # chains.Proof


def _payload_checker(store, sender: dict | None = None):
    """The content part of the first pass: the manifest and every op checked, none kept: each op
    well formed, against its origin's chain and signed heads (db/sync/chains.py: an altered or
    made-up op refuses the bundle, naming the device), and no audit entry changed."""
    from db.accounts.audit import refuse_audit_edits

    def check(pieces: Iterator[bytes]) -> _Checked:
        parts = _payload_parts(pieces, OPS_PER_BATCH)
        manifest = next(parts)
        if not isinstance(manifest, dict):
            raise SyncError(_("The bundle's content is malformed. Nothing was imported."))
        # The sender's own key counts as vouched for: the container's check accepted it (trusted,
        # or confirmed by its fingerprint), and its signature covers the whole bundle.
        local = chains.laptop_local(store, _node_names(manifest), sender)
        origins = chains.StreamVerifier(manifest.get("heads"), local, manifest.get("links"), manifest.get("vouchers"))
        n = 0
        nodes: dict[str, tuple[int, int, int]] = {}
        for raw in parts:
            ops = _parse_ops(raw, first=n)
            n += len(ops)
            for op in ops:
                count, lo, hi = nodes.get(op.node, (0, op.counter, op.counter))
                nodes[op.node] = (count + 1, min(lo, op.counter), max(hi, op.counter))
            origins.feed(ops)
            refuse_audit_edits(store, ops)
        return _Checked(manifest, n, nodes, origins.finish())

    return check


def _node_names(manifest: dict) -> dict[str, str]:
    """Device id: name, from the bundle's manifest (for the messages that name a device)."""
    names = {v[0]: v[1] for v in (manifest.get("nodes") or {}).values()
             if isinstance(v, list) and len(v) == 2 and v[0]}
    sender = manifest.get("sender") or {}
    if isinstance(sender, dict) and sender.get("device_id"):
        names[sender["device_id"]] = sender.get("name") or ""
    return names


def _noting(check, sender: dict):
    """check_sender that also notes the sender's accepted key (device id: base64 key)."""
    def noting(header: dict) -> bytes:
        key = check(header)
        sender.clear()
        sender[header["sender"]] = container.b64(key)
        return key
    return noting


@bulk_gc()
def verify_bundle(store, fh, *, passphrase: str | None = None, trust_sender: str | None = None,
                  allow_unknown: bool = False) -> tuple[container.Verified, _Checked]:
    """The first pass over a bundle, before anything is applied: the container (every chunk
    authenticated, the sender trusted, its signature over the whole body) and the content (the
    manifest matches the header, every op well formed, as many as the manifest says). Raises
    SyncError naming the problem; keeps nothing of the ops (bounded memory)."""
    sender: dict[str, str] = {}
    check = _noting(_check_sender(store, trust_sender, allow_unknown), sender)
    verified, checked = container.verify_sealed(fh, me=identity(store), passphrase=passphrase,
                                                check_sender=check, consume=_payload_checker(store, sender))
    manifest = checked.manifest
    if int(manifest.get("format", 0)) > container.FORMAT_VERSION:
        raise container._newer()
    if (manifest.get("bundle_id") != verified.header.get("bundle_id")
            or manifest.get("sender", {}).get("device_id") != verified.header["sender"]):
        raise SyncError(_("The bundle's manifest does not match its header. Nothing was imported."))
    if checked.ops != manifest.get("counts", {}).get("ops", checked.ops):
        raise SyncError(_("The bundle holds {found} changes but its manifest says {expected}. Nothing was "
                          "imported.").format(found=checked.ops, expected=manifest["counts"]["ops"]))
    return verified, checked


def _read(store, source: bytes | Path, fh, *, passphrase: str | None = None, trust_sender: str | None = None,
          allow_unknown: bool = False) -> Bundle:
    verified, checked = verify_bundle(store, fh, passphrase=passphrase, trust_sender=trust_sender,
                                      allow_unknown=allow_unknown)
    header = verified.header
    newly = None
    with store.activated():
        if TrustedDevice.get_or_none(TrustedDevice.device_id == header["sender"]) is None:
            newly = {"device_id": header["sender"], "name": header.get("sender_name"),
                     "sign_public": header["sign_public"], "box_public": header.get("box_public")}
    needs_trust = newly is not None and _normal_fp(trust_sender) != header["sender"]
    bundle = Bundle(header, checked.manifest, source, verified, checked.ops, checked.nodes, newly, needs_trust)
    bundle.proof = checked.proof
    return bundle


def read_bundle(store, data: bytes, *, passphrase: str | None = None, trust_sender: str | None = None,
                allow_unknown: bool = False) -> Bundle:
    """Verify a whole bundle held in memory (nothing is written); raises SyncError with the reason.

    trust_sender: the fingerprint of an unknown sender the person has compared (it is trusted on
    import). allow_unknown: verify a bundle of an unknown sender against the key it names, for a
    preview; it cannot be imported until `confirm_sender` (bundle.needs_trust).
    """
    data = bytes(data)
    return _read(store, data, io.BytesIO(data), passphrase=passphrase, trust_sender=trust_sender,
                 allow_unknown=allow_unknown)


def confirm_sender(bundle: Bundle, fingerprint_text: str) -> None:
    """The person compared the sender's fingerprint: the bundle may be imported (sender trusted)."""
    if _normal_fp(fingerprint_text) != bundle.sender_id:
        raise SyncError(_("The fingerprint you entered ({given}) is not the sender's ({device}). "
                          "Nothing was imported.").format(given=fingerprint_text, device=fingerprint(bundle.sender_id)))
    bundle.needs_trust = False


def read_bundle_file(store, path: Path, **kwargs) -> Bundle:
    """read_bundle for a file, streamed: it is read twice (verified now, applied on import), never
    whole in memory."""
    path = Path(path)
    try:
        fh = open(path, "rb")
    except FileNotFoundError as exc:
        raise SyncError(_("The file “{path}” does not exist.").format(path=path)) from exc
    except OSError as exc:
        raise SyncError(_("Could not read “{path}”: {error}.").format(path=path, error=exc.strerror)) from exc
    try:
        with fh:
            bundle = _read(store, path, fh, **kwargs)
    except OSError as exc:
        raise SyncError(_("Could not read “{path}”: {error}.").format(path=path, error=exc.strerror)) from exc
    bundle.file_name = str(path)
    return bundle


# -- applying -------------------------------------------------------------------------------------

def _existing_rows(db, table: str, row_ids: list[str]) -> set[str]:
    found: set[str] = set()
    if not db.execute_sql(f'select exists(select 1 from "{table}")').fetchone()[0]:
        return found
    for start in range(0, len(row_ids), 500):
        chunk = row_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(x for (x,) in db.execute_sql(f'select id from "{table}" where id in ({marks})', chunk))
    return found


def _conflict_keys(db, affected: dict[str, list[str]]) -> set[tuple[str, str, str]]:
    keys: set[tuple[str, str, str]] = set()
    if not db.execute_sql("select exists(select 1 from conflict)").fetchone()[0]:
        return keys
    for table, ids in affected.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            keys.update(db.execute_sql(
                f"select tbl, row_id, field from conflict where tbl = ? and row_id in ({marks})", (table, *chunk)))
    return keys


def _already_imported(store, bundle_id: str) -> bool:
    with store.activated():
        return Exchange.select().where((Exchange.bundle_id == bundle_id)
                                       & (Exchange.direction.in_(["import", "receipt_in"]))).exists()


@contextmanager
def _bulk_mode(store, n_ops: int) -> Iterator[bool]:
    """For a big merge: a page cache of BULK_CACHE_KIB (it counts in the memory the import uses,
    which must stay at 600 MB on a 4 GB laptop; less when the machine has little memory free), foreign keys checked once before commit instead of row by row, and the write-ahead
    log's checkpoint left to the background step after a large import (db.bulk.settle, run by the
    sync screen) instead of copying the whole transaction again inside the commit. Yields whether on."""
    db = store.db
    if n_ops < BULK_OPS or db.in_transaction():
        yield False
        return
    import psutil

    from db.bulk import checkpoint_deferred

    old = db.execute_sql("pragma cache_size").fetchone()[0]
    kib = min(BULK_CACHE_KIB, max(16_000, psutil.virtual_memory().available // 3 // 1024))
    db.execute_sql(f"pragma cache_size = -{kib}")
    db.execute_sql("pragma foreign_keys = 0")
    try:
        with checkpoint_deferred(store):
            yield True
    finally:
        db.execute_sql("pragma foreign_keys = 1")
        db.execute_sql(f"pragma cache_size = {int(old)}")


def _check_references(db, tables) -> None:
    """Refuse a merge that leaves rows pointing at records that are not here (checked per table)."""
    for table in tables:
        bad = db.execute_sql(f'pragma foreign_key_check("{table}")').fetchone()
        if bad:
            raise SyncError(_("The bundle has {table} rows that refer to records missing here ({parent}); "
                              "nothing was imported. Import the earlier bundles from that device first, or "
                              "ask for a full handover.").format(table=table_label(table), parent=table_label(bad[2])))


def _may_be_new(db, bundle: Bundle) -> bool:
    """Whether the bundle holds ops not here (then a backup is made before importing). Told by
    counting per node; only when this database holds part of a node's range are the bundle's ops
    read once more to know exactly."""
    unsure = False
    for node, (count, lo, hi) in bundle.node_counts.items():
        here = db.execute_sql("select count(*) from oplog where node = ? and counter between ? and ?",
                              (node, lo, hi)).fetchone()[0]
        if here == 0 and count:
            return True
        if here < hi - lo + 1:
            unsure = True
    if not unsure:
        return False
    return any(oplog.fresh_ops(db, batch) for batch in bundle.op_batches())


_SCRATCH = "griddesk_import"  # a scratch database file attached beside the database during an import
_TOUCHED = f"{_SCRATCH}.rows"  # the rows the import wrote: (table, id, whether new here)
HOOK_BLOCK = 50_000  # row ids handed to the row hooks at a time after an import


@contextmanager
def _scratch(store) -> Iterator[None]:
    """Attach a scratch file for the rows an import writes (on disk: millions of ids for a big
    handover stay out of memory), removed afterwards."""
    db = store.db
    import secrets

    # Not named after the database: nothing that copies "<database>*" (backups, crash copies) takes it.
    path = Path(store.path).parent / f"griddesk-import-{secrets.token_hex(4)}.tmp"
    db.execute_sql(f"attach database ? as {_SCRATCH}", (str(path),))
    try:
        db.execute_sql(f"pragma {_SCRATCH}.journal_mode = off")
        db.execute_sql(f"pragma {_SCRATCH}.synchronous = off")
        db.execute_sql(f"create table {_TOUCHED} (tbl text not null, row_id text not null, new integer not null, "
                       "primary key (tbl, row_id)) without rowid")
        yield
    finally:
        try:
            db.execute_sql(f"detach database {_SCRATCH}")
        finally:
            path.unlink(missing_ok=True)


def _touched_tables(db) -> list[str]:
    return [t for (t,) in db.execute_sql(f"select distinct tbl from {_TOUCHED}")]


def _touched_blocks(db, table: str) -> Iterator[list[str]]:
    """The ids of the rows of `table` this import wrote, sorted, HOOK_BLOCK at a time."""
    last = ""
    while True:
        block = [r for (r,) in db.execute_sql(f"select row_id from {_TOUCHED} where tbl = ? and row_id > ? "
                                              "order by row_id limit ?", (table, last, HOOK_BLOCK))]
        if not block:
            return
        yield block
        last = block[-1]


class MergedChanges:
    """Summary.changes of an import: one oplog.Change per row written, made when iterated. The ids
    are kept as one text per table, not as millions of objects (a full handover)."""

    def __init__(self, ids: dict[str, str], count: int) -> None:
        self._ids = ids
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[oplog.Change]:
        none: dict = {}  # merged rows name no fields; one shared empty dict (read only) for all
        for table, text in self._ids.items():
            for row_id in text.split("\n"):
                yield oplog.Change(table, row_id, none, "merge", False)


def _merged_changes(db) -> MergedChanges:
    ids: dict[str, str] = {}
    count = 0
    for table in _touched_tables(db):
        ids[table] = "\n".join(chain.from_iterable(_touched_blocks(db, table)))
        count += ids[table].count("\n") + 1
    return MergedChanges(ids, count)


def _merge_batch(store, bundle: Bundle, ops: list[oplog.OpRecord], summary: Summary, step) -> None:
    """Merge one batch of a bundle's ops (inside the import's transaction) and add to the summary.
    The rows written are kept in the temporary table _TOUCHED, not in memory: held across batches,
    their ids would keep every batch's memory from being reused."""
    db = store.db
    fresh = oplog.fresh_ops(db, ops)
    summary.duplicate_ops += len(ops) - len(fresh)
    found_faults = faults.find_faults(db, ops, fresh)
    if found_faults:
        summary.faults += len(found_faults)
        faults.record_faults(store, found_faults, source=_("bundle {id} from {sender}").format(
            id=bundle.bundle_id[:13], sender=bundle.sender_name))
        if any(f.node == store.node_id for f in found_faults):
            summary.copied_node_detected = True
    if not fresh:
        return
    for user, n in Counter(map(attrgetter("user"), fresh)).items():
        summary.by_user[user or "?"] = summary.by_user.get(user or "?", 0) + n
    summary.newer_schema_ops += sum(n for schema, n in Counter(map(attrgetter("schema"), fresh)).items()
                                    if schema > migrations.SCHEMA_VERSION)
    grouped = oplog.group_ops(fresh)
    tables = {t: sorted(rows) for t, rows in grouped.items() if synced_model(t) is not None}
    before = _conflict_keys(db, tables)
    for table, ids in tables.items():
        existing = _existing_rows(db, table, ids)
        # The first time a row is written by this import says whether it was new here.
        db.cursor().executemany(f"insert or ignore into {_TOUCHED} values (?, ?, ?)",
                                [(table, rid, rid not in existing) for rid in ids])
    result = oplog.merge_fresh(store, fresh, grouped, order=tables, step=step)
    summary.new_ops += result.new_ops
    summary.skewed = summary.skewed or result.skewed
    summary.copied_node_detected = summary.copied_node_detected or result.copied_node_detected
    summary.new_conflicts += len(_conflict_keys(db, tables) - before)


@bulk_gc()
def _apply(store, bundle: Bundle, *, dry_run: bool, progress: Progress, cancelled: IsCancelled) -> Summary:
    """Apply (or, dry_run, try and roll back) a verified bundle: its ops are read again batch by
    batch (the second pass) and merged in one transaction, so memory does not grow with the
    bundle; any failure, the file changed since it was verified included, leaves nothing."""
    db = store.db
    check_bundle_has_no_gap(store, bundle)
    summary = Summary(bundle.bundle_id, bundle.kind, bundle.sender_name, bundle.sender_id, ops=bundle.op_count,
                      dry_run=dry_run, already_imported=_already_imported(store, bundle.bundle_id),
                      community=bundle.community)
    if not dry_run and _may_be_new(db, bundle):
        import time

        from db.backup import ensure_backup

        started = time.perf_counter()
        # Skipped when the newest backup already holds this very op log (no write since it).
        backup, summary.backup_made = ensure_backup(store, "import")
        summary.backup_file = backup.name
        summary.backup_seconds = time.perf_counter() - started

    # Progress in the merge's own units (ops inserted, then rows merged: up to twice the ops).
    total = max(1, 2 * bundle.op_count)
    done = 0
    batch_units = 0

    def check_cancel() -> None:
        if cancelled and cancelled():
            raise Cancelled(_("The import was cancelled; nothing was changed."))

    def step(part: int, of: int) -> None:
        nonlocal batch_units
        batch_units = of
        check_cancel()
        if progress:
            progress(min(total, done + part), total)

    # The one transaction commits with synchronous=FULL: once it returns, the import is on disk.
    # A bulk import (a full handover: 800 MB of write-ahead log) leaves that sync to the receipt
    # (make_receipt makes everything durable first) and the background checkpoint, as it leaves
    # the checkpoint: the receipt, the only promise made about it, still follows the sync.
    sync_now = durable.full_sync(db) if bundle.op_count < BULK_OPS else nullcontext()
    with _scratch(store):
        with sync_now, _bulk_mode(store, bundle.op_count), db.atomic() as txn:
            # Row hooks (the search index) are deferred while the batches are merged and run once
            # at the end over the rows written (a dry run is rolled back: they need not run).
            with oplog.deferred_hooks(store, run=False):
                for batch in bundle.op_batches():
                    batch_units = 0
                    _merge_batch(store, bundle, batch, summary, step)
                    done += batch_units
                    del batch
                    oplog.forget_deferred()  # they are in _TOUCHED
            tables = _touched_tables(db)
            _check_references(db, tables)
            for table, new, n in db.execute_sql(f"select tbl, new, count(*) from {_TOUCHED} group by tbl, new"):
                (summary.new_rows if new else summary.updated_rows)[table] = n
            if not dry_run:
                import time

                started = time.perf_counter()
                oplog.run_hooks_once(store, {table: _touched_blocks(db, table) for table in tables})
                summary.derived_seconds = time.perf_counter() - started
            if dry_run:
                txn.rollback()
            else:
                # The last look at the cancel flag, right before the commit (after the derived data,
                # which takes seconds for a big bundle): a cancel until now leaves nothing written.
                check_cancel()
                _after_import(store, bundle, summary)
                if summary.copied_node_detected:
                    # In the import's own transaction: a crash cannot keep the import and lose the
                    # new node id (this copy would go on writing under the shared one).
                    store.rotate_node_id()
        if not dry_run:
            summary.changes = _merged_changes(db)
    return summary


def _after_import(store, bundle: Bundle, summary: Summary) -> None:
    m = bundle.manifest
    if bundle.newly_trusted:
        t = bundle.newly_trusted
        with store.activated():
            TrustedDevice.insert(device_id=t["device_id"], name=t["name"], sign_public=t["sign_public"],
                                 box_public=t["box_public"], added_at=now_iso(), added_by=store.user
                                 ).on_conflict_ignore().execute()
    _update_sender_name(store, bundle)
    if bundle.community and not store.get_meta(COMMUNITY_KEY):  # never renames a register that has a name
        store.set_meta(**{COMMUNITY_KEY: bundle.community})
    chains.keep_proof(store, bundle.proof, source=_("bundle {id} from {sender}").format(
        id=bundle.bundle_id[:13], sender=bundle.sender_name))
    # The sender holds what its bundle says, now: that replaces what we believed.
    beliefs.replace_belief(store, bundle.sender_id, m.get("vector") or {})
    _learn_nodes(store, m.get("nodes") or {})
    if not summary.already_imported:
        _record(store, bundle_id=bundle.bundle_id, direction="import", kind=bundle.kind,
                peer_device=bundle.sender_id, peer_name=bundle.sender_name, file_name=bundle.file_name,
                ops=summary.new_ops, summary=json.dumps(summary.as_dict(), ensure_ascii=False))


def _update_sender_name(store, bundle: Bundle) -> None:
    """A trusted device that renamed itself: keep its current name (the fingerprint stays the identity)."""
    name = (bundle.manifest.get("sender") or {}).get("name") or bundle.header.get("sender_name")
    if name:
        with store.activated():
            TrustedDevice.update(name=name).where((TrustedDevice.device_id == bundle.sender_id)
                                                  & (TrustedDevice.name.is_null() | (TrustedDevice.name != name))).execute()


def check_bundle_has_no_gap(store, bundle: Bundle) -> None:
    """Refuse (beliefs.GapError, nothing applied) a bundle that assumes this database holds more
    than it does, e.g. after a restore: it says what is missing, from whom, and what to do."""
    if bundle.kind == "receipt":
        return
    names = {n: tuple(v) for n, v in (bundle.manifest.get("nodes") or {}).items()
             if isinstance(v, list) and len(v) == 2}
    names.update(node_names(store))
    beliefs.check_no_gaps(store, bundle.manifest, names, my_device_id=identity(store).device_id)


def preview(store, bundle: Bundle) -> Summary:
    """What importing would do (new, updated, conflicts, from whom), computed and rolled back."""
    if bundle.kind == "receipt":
        return Summary(bundle.bundle_id, "receipt", bundle.sender_name, bundle.sender_id, dry_run=True,
                       already_imported=_already_imported(store, bundle.bundle_id))
    return _apply(store, bundle, dry_run=True, progress=None, cancelled=None)


def import_bundle(store, bundle: Bundle, *, progress: Progress = None, cancelled: IsCancelled = None) -> Summary:
    """Apply a verified bundle in one transaction (a backup is made first when anything is new)."""
    if bundle.needs_trust:
        raise unknown_sender_error(bundle.sender_name, bundle.sender_id)
    if bundle.kind == "receipt":
        return _import_receipt(store, bundle)
    return _apply(store, bundle, dry_run=False, progress=progress, cancelled=cancelled)


# -- receipts -------------------------------------------------------------------------------------

def make_receipt(store, bundle: Bundle) -> Exported:
    """A receipt for the sender of an imported (or refused) bundle: what this device holds now.

    Written only once everything it acknowledges is on disk (make_durable). After a bundle was
    refused for a gap, this receipt is the request for the gap: it says how much less we hold."""
    durable.make_durable(store)
    with store.activated():
        sender = TrustedDevice.get_or_none(TrustedDevice.device_id == bundle.sender_id)
    if sender is None or not sender.box_public:
        raise SyncError(_("No key is known for the sender, so no receipt can be encrypted for it."))
    vector = oplog.version_vector(store.db)
    manifest = _manifest(store, "receipt", recipient=sender.device_id, since={}, vector=vector, ranges={},
                         counts={}, ops=0, extra={"ack": {"bundle_id": bundle.bundle_id, "vector": vector}})
    data = _seal(store, manifest, b"[]", [{"device_id": sender.device_id, "box_public": sender.box_public}], None)
    return Exported(data, manifest, dated_name(None, "RC", "GDR"))


def write_receipt(store, bundle: Bundle, path: Path) -> Exported:
    receipt = make_receipt(store, bundle)
    path = Path(path)
    if path.is_dir():
        path = path / dated_name(path, "RC", "GDR")
    safe_write(path, receipt.data)
    _record(store, bundle_id=receipt.manifest["bundle_id"], direction="receipt_out", kind="receipt",
            peer_device=bundle.sender_id, peer_name=bundle.sender_name, file_name=str(path), ops=0,
            summary=json.dumps({"ack": bundle.bundle_id}))
    receipt.file_name = str(path)
    return receipt


def _import_receipt(store, bundle: Bundle) -> Summary:
    ack = bundle.manifest.get("ack") or {}
    summary = Summary(bundle.bundle_id, "receipt", bundle.sender_name, bundle.sender_id,
                      already_imported=_already_imported(store, bundle.bundle_id))
    with store.db.atomic():
        _update_sender_name(store, bundle)
        previous = beliefs.replace_belief(store, bundle.sender_id, ack.get("vector") or {})
        summary.peer_lost = sum(had - now for now, had in beliefs.lost_by_peer(
            previous, ack.get("vector") or {}).values())
        _learn_nodes(store, bundle.manifest.get("nodes") or {})
        if not summary.already_imported:
            _record(store, bundle_id=bundle.bundle_id, direction="receipt_in", kind="receipt",
                    peer_device=bundle.sender_id, peer_name=bundle.sender_name, file_name=bundle.file_name, ops=0,
                    summary=json.dumps({"ack": ack.get("bundle_id")}))
    return summary


# -- history --------------------------------------------------------------------------------------

def exchange_history(store, limit: int = 500) -> list[dict]:
    with store.activated():
        rows = Exchange.select().order_by(Exchange.id.desc()).limit(limit)
        return [{"bundle_id": r.bundle_id, "direction": r.direction, "kind": r.kind, "peer_device": r.peer_device,
                 "peer_name": r.peer_name, "at": r.at, "user": r.user, "file_name": r.file_name, "ops": r.ops,
                 "summary": json.loads(r.summary or "{}")} for r in rows]
