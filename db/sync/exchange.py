"""Bundles between devices: export what a peer lacks (or everything), verify, preview, import, receipts.

A bundle carries ops (db/oplog.py) plus a manifest: format and schema versions, bundle id, sender,
the sender's version vector, counter ranges and counts. Import verifies the whole file first
(db/sync/bundle.py), then applies every op in one transaction; importing twice changes nothing.
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

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import chain, repeat
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
from db.sync.usb import safe_write
from i18n import _

APP_VERSION = "0.1.0"
KINDS = ("changes", "full", "receipt")
BULK_OPS = 20_000  # from this many new ops an import runs in bulk mode (see _bulk_mode)
_HLC = re.compile(r"^\d{16}-\d{6}-\S+$")
Progress = Callable[[int, int], None] | None
IsCancelled = Callable[[], bool] | None


@dataclass
class Bundle:
    """A verified, decrypted bundle: nothing of it has been applied yet."""

    header: dict
    manifest: dict
    ops: list[oplog.OpRecord]
    newly_trusted: dict | None = None  # the sender, trusted on first use by explicit choice
    needs_trust: bool = False  # verified, but the sender is unknown and not confirmed yet
    file_name: str | None = None  # the file it was read from, for the exchange history
    proof: Any = None  # chains.Proof: what verify_origins found (heads and notes kept on import)

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

def _select_ops(store, since: dict[str, int], progress: Progress, cancelled: IsCancelled):
    """Every op held above `since`, and the vector this database can prove (no claim past a hole).

    A laptop synced with the office hub holds only its grids' ops of other devices: their
    counters have holes. The bundle carries every op held, also those past a hole (stopping at
    the first one lost them for the receiver), while its vector claims only the contiguous part."""
    top = oplog.version_vector(store.db)
    rows: list[list] = []
    ranges: dict[str, list[int]] = {}
    tables: Counter = Counter()
    total = sum(max(0, t - since.get(n, 0)) for n, t in top.items())
    sql = (f"select {oplog._OP_COLUMNS}, lower(hex(prev)) from oplog where node = ? and counter > ? "
           "order by counter")
    nodes = sorted(top)
    if store.get_meta("hub_role") == "readonly":  # db.sync.hub_client.ROLE_META
        # The office hub sends a read-only laptop others' ops with the personal numbers masked:
        # they are no changes (the real ones are at the hub), so only its own ops leave it.
        own = {store.node_id, *(store.get_meta("previous_node_ids") or "").split(",")}
        nodes = [n for n in nodes if n in own]
    for node in nodes:
        lo = since.get(node, 0)
        start = len(rows)
        for row in opfields.wire_rows(store.db, store.db.execute_sql(sql, (node, lo))):
            rows.append(row)
            tables[row[2]] += 1
            if len(rows) % 20_000 == 0:
                if cancelled and cancelled():
                    raise Cancelled(_("The export was cancelled; nothing was written."))
                if progress:
                    progress(len(rows), total)
        if len(rows) > start:
            ranges[node] = [rows[start][1], rows[-1][1]]  # first and last carried (holes possible)
    return rows, ranges, dict(tables), top


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


def _seal(store, manifest: dict, ops_json: bytes, recipients: list[dict], passphrase: str | None) -> bytes:
    me = identity(store)
    payload = json.dumps(manifest, ensure_ascii=False).encode("utf-8") + b"\n" + ops_json
    fields = {"bundle_id": manifest["bundle_id"], "kind": manifest["kind"], "app_version": APP_VERSION,
              "created_at": manifest["created_at"], "box_public": container.b64(me.box_public)}
    return container.seal(payload, sender=me, header_fields=fields,
                          recipients=[(d["device_id"], unb64(d["box_public"])) for d in recipients],
                          passphrase=passphrase)


def _recipient(store, device: str) -> dict:
    from db.sync.identity import find_device

    found = find_device(store, device)
    if found["revoked_at"]:
        raise SyncError(_("Device “{name}” was revoked; bundles are no longer made for it.").format(
            name=found["name"]))
    return found


@dataclass
class Exported:
    data: bytes
    manifest: dict
    file_name: str

    @property
    def ops(self) -> int:
        return self.manifest["counts"]["ops"]


def export_bundle(store, *, for_device: str | None = None, full: bool = False, passphrase: str | None = None,
                  also_for: tuple[str, ...] = (), progress: Progress = None,
                  cancelled: IsCancelled = None) -> Exported:
    """Build a bundle: the ops `for_device` lacks (from its acknowledged vector) or, with full, all."""
    if not for_device and not full:
        raise SyncError(_("Choose a receiving device, or a full handover."))
    recipients = [_recipient(store, d) for d in ([for_device] if for_device else []) + list(also_for)]
    if not recipients and not passphrase:
        raise SyncError(_("A full handover without a receiving device needs a passphrase."))
    # What leaves this machine must be on disk: an op exported and then lost here in a power cut
    # would have its number written again with other content.
    durable.make_durable(store)
    since = {} if full or not for_device else peer_vector(store, recipients[0]["device_id"])
    rows, ranges, tables, vector = _select_ops(store, since, progress, cancelled)
    manifest = _manifest(store, "full" if full else "changes",
                         recipient=recipients[0]["device_id"] if recipients else None,
                         since=since, vector=vector, ranges=ranges, counts=tables, ops=len(rows),
                         extra={"heads": chains.heads_for(store, ranges)})
    data = _seal(store, manifest, orjson.dumps(rows), recipients, passphrase)
    return Exported(data, manifest, dated_name(None, "GD", "GDB"))


def export_to_file(store, path: Path, **kwargs) -> Exported:
    """Export and write FAT32-safely (read back and verified); records the exchange."""
    exported = export_bundle(store, **kwargs)
    path = Path(path)
    if path.is_dir():
        path = path / dated_name(path, "GD", "GDB")
    safe_write(path, exported.data)
    m = exported.manifest
    names = {d["device_id"]: d["name"] for d in _all_devices(store)}
    _record(store, bundle_id=m["bundle_id"], direction="export", kind=m["kind"], peer_device=m["recipient"],
            peer_name=names.get(m["recipient"]), file_name=str(path), ops=exported.ops,
            summary=json.dumps({"tables": m["counts"]["tables"]}))
    exported.file_name = str(path)
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


def _parse_ops(raw: list) -> list[oplog.OpRecord]:
    """Check and decode every op; on any problem the op-by-op path names the first malformed one."""
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
        return [_parse_op(i, r) for i, r in enumerate(raw)]  # raises, naming the change
    return ops


@bulk_gc()
def read_bundle(store, data: bytes, *, passphrase: str | None = None, trust_sender: str | None = None,
                allow_unknown: bool = False) -> Bundle:
    """Verify and decrypt a whole bundle (nothing is written); raises SyncError with the reason.

    trust_sender: the fingerprint of an unknown sender the person has compared (it is trusted on
    import). allow_unknown: verify a bundle of an unknown sender against the key it names, for a
    preview; it cannot be imported until `confirm_sender` (bundle.needs_trust).
    """
    opened = container.open_sealed(data, me=identity(store), passphrase=passphrase,
                                   check_sender=_check_sender(store, trust_sender, allow_unknown))
    body = opened.body
    try:
        end = body.find(b"\n")
        manifest = json.loads(body[:end] if end >= 0 else body)
        # A view of the ops part: no copy of a body of hundreds of megabytes.
        rest = memoryview(body)[end + 1:] if end >= 0 else memoryview(b"")
        try:
            raw_ops = orjson.loads(rest)
        except orjson.JSONDecodeError:
            if bytes(rest).strip():
                raise
            raw_ops = []
        if not isinstance(manifest, dict) or not isinstance(raw_ops, list):
            raise ValueError
        if manifest.get("kind") not in KINDS:
            raise ValueError
    except ValueError as exc:
        raise SyncError(_("The bundle's content is malformed. Nothing was imported.")) from exc
    if int(manifest.get("format", 0)) > container.FORMAT_VERSION:
        raise container._newer()
    if (manifest.get("bundle_id") != opened.header.get("bundle_id")
            or manifest.get("sender", {}).get("device_id") != opened.header["sender"]):
        raise SyncError(_("The bundle's manifest does not match its header. Nothing was imported."))
    ops = _parse_ops(raw_ops)
    if len(ops) != manifest.get("counts", {}).get("ops", len(ops)):
        raise SyncError(_("The bundle holds {found} changes but its manifest says {expected}. Nothing was "
                          "imported.").format(found=len(ops), expected=manifest["counts"]["ops"]))
    newly = None
    with store.activated():
        if TrustedDevice.get_or_none(TrustedDevice.device_id == opened.header["sender"]) is None:
            newly = {"device_id": opened.header["sender"], "name": opened.header.get("sender_name"),
                     "sign_public": opened.header["sign_public"], "box_public": opened.header.get("box_public")}
    needs_trust = newly is not None and _normal_fp(trust_sender) != opened.header["sender"]
    bundle = Bundle(opened.header, manifest, ops, newly, needs_trust)
    bundle.proof = verify_origins(store, bundle)
    from db.accounts.audit import refuse_audit_edits

    refuse_audit_edits(store, bundle.ops)
    return bundle


def verify_origins(store, bundle: Bundle) -> chains.Proof:
    """Each op against its origin's chain and signed heads (db/sync/chains.py): raises SyncError,
    naming the device, for an altered or made-up op; nothing of the bundle is applied then."""
    names = {v[0]: v[1] for v in (bundle.manifest.get("nodes") or {}).values()
             if isinstance(v, list) and len(v) == 2 and v[0]}
    names[bundle.sender_id] = bundle.sender_name
    return chains.verify(bundle.ops, bundle.manifest.get("heads"), chains.laptop_local(store, names))


def confirm_sender(bundle: Bundle, fingerprint_text: str) -> None:
    """The person compared the sender's fingerprint: the bundle may be imported (sender trusted)."""
    if _normal_fp(fingerprint_text) != bundle.sender_id:
        raise SyncError(_("The fingerprint you entered ({given}) is not the sender's ({device}). "
                          "Nothing was imported.").format(given=fingerprint_text, device=fingerprint(bundle.sender_id)))
    bundle.needs_trust = False


def read_bundle_file(store, path: Path, **kwargs) -> Bundle:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise SyncError(_("The file “{path}” does not exist.").format(path=path)) from exc
    except OSError as exc:
        raise SyncError(_("Could not read “{path}”: {error}.").format(path=path, error=exc.strerror)) from exc
    bundle = read_bundle(store, data, **kwargs)
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
    """For a big merge: a page cache that holds the whole transaction (spilling makes it many times
    slower), foreign keys checked once before commit instead of row by row, and the write-ahead
    log's checkpoint left to the background step after a large import (db.bulk.settle, run by the
    sync screen) instead of copying the whole transaction again inside the commit. Yields whether on."""
    db = store.db
    if n_ops < BULK_OPS or db.in_transaction():
        yield False
        return
    import psutil

    from db.bulk import checkpoint_deferred

    old = db.execute_sql("pragma cache_size").fetchone()[0]
    kib = min(2_000_000, max(64_000, psutil.virtual_memory().available // 3 // 1024))
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


def _user_counts(ops: list[oplog.OpRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for user, n in Counter(map(attrgetter("user"), ops)).items():
        counts[user or "?"] = counts.get(user or "?", 0) + n
    return counts


@bulk_gc()
def _apply(store, bundle: Bundle, *, dry_run: bool, progress: Progress, cancelled: IsCancelled) -> Summary:
    db = store.db
    check_bundle_has_no_gap(store, bundle)
    summary = Summary(bundle.bundle_id, bundle.kind, bundle.sender_name, bundle.sender_id, ops=len(bundle.ops),
                      dry_run=dry_run, already_imported=_already_imported(store, bundle.bundle_id),
                      community=bundle.community)
    fresh = oplog.fresh_ops(db, bundle.ops)
    summary.duplicate_ops = len(bundle.ops) - len(fresh)
    found_faults = faults.find_faults(db, bundle.ops, fresh)
    summary.faults = len(found_faults)
    summary.by_user = _user_counts(fresh)
    summary.newer_schema_ops = sum(n for schema, n in Counter(map(attrgetter("schema"), fresh)).items()
                                   if schema > migrations.SCHEMA_VERSION)
    grouped = oplog.group_ops(fresh)
    tables = {t: sorted(rows) for t, rows in grouped.items() if synced_model(t) is not None}
    if not dry_run and fresh:
        import time

        from db.backup import ensure_backup

        started = time.perf_counter()
        # Skipped when the newest backup already holds this very op log (no write since it).
        backup, summary.backup_made = ensure_backup(store, "import")
        summary.backup_file = backup.name
        summary.backup_seconds = time.perf_counter() - started

    def step(done: int, total: int) -> None:
        if cancelled and cancelled():
            raise Cancelled(_("The import was cancelled; nothing was changed."))
        if progress:
            progress(done, total)

    # The one transaction commits with synchronous=FULL: once it returns, the import is on disk.
    # A bulk import (a full handover: 800 MB of write-ahead log) leaves that sync to the receipt
    # (make_receipt makes everything durable first) and the background checkpoint, as it leaves
    # the checkpoint: the receipt, the only promise made about it, still follows the sync.
    sync_now = durable.full_sync(db) if len(fresh) < BULK_OPS else nullcontext()
    with sync_now, _bulk_mode(store, len(fresh)), db.atomic() as txn:
        if found_faults:
            faults.record_faults(store, found_faults, source=_("bundle {id} from {sender}").format(
                id=bundle.bundle_id[:13], sender=bundle.sender_name))
        before = _conflict_keys(db, tables)
        for table, ids in tables.items():
            existing = _existing_rows(db, table, ids)
            if len(ids) - len(existing):
                summary.new_rows[table] = len(ids) - len(existing)
            if existing:
                summary.updated_rows[table] = len(existing)
        # A dry run is rolled back: derived data (search index) need not be refreshed for it.
        with oplog.deferred_hooks(store, run=not dry_run) as hook_stats:
            result = oplog.merge_fresh(store, fresh, grouped, order=tables, step=step)
            summary.new_ops = result.new_ops
            summary.skewed = result.skewed
            summary.copied_node_detected = result.copied_node_detected or any(
                f.node == store.node_id for f in found_faults)
        _check_references(db, tables)
        summary.derived_seconds = hook_stats["seconds"]
        summary.new_conflicts = len(_conflict_keys(db, tables) - before)
        if dry_run:
            txn.rollback()
        else:
            # The last look at the cancel flag, right before the commit (after the derived data,
            # which takes seconds for a big bundle): a cancel until now leaves nothing written.
            if cancelled and cancelled():
                raise Cancelled(_("The import was cancelled; nothing was changed."))
            _after_import(store, bundle, summary)
            if summary.copied_node_detected:
                # In the import's own transaction: a crash cannot keep the import and lose the
                # new node id (this copy would go on writing under the shared one).
                store.rotate_node_id()
    if dry_run:
        return summary
    none: dict = {}  # merged rows name no fields; one shared empty dict (read only) for all
    summary.changes = list(chain.from_iterable(
        map(oplog.Change, repeat(t), ids, repeat(none), repeat("merge"), repeat(False)) for t, ids in tables.items()))
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
