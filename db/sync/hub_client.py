"""The desktop side of office sync (no Qt): enrol with a code, push what the hub lacks, pull our grids.

One sync: `hello` (the hub says which epoch it is in and, per node, what it holds: that replaces
what we believed, so a hub restored from a backup gets our ops again), push the ops above that
in batches (each acknowledged only after the hub committed it), then pull pages of our grids
after our cursor, each page applied in one transaction together with the new cursor. A "leave"
(a household moved to another grid) drops the row here, but only once our own changes to it are
acknowledged; until then it waits in sync_hub_leave. Failures back off (with jitter).
The hub and the USB bundles carry the same ops, so a laptop can mix both.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from db import opfields, oplog, opstore
from db.models import synced_model
from db.models.accounts import ROLE_ADMIN, ROLE_READONLY  # the hub enrols laptops with the accounts' roles
from db.sync import chains
from db.sync import hub_protocol as proto
from db.sync.hub_tables import create_tables  # noqa: F401 - migration 11's tables, named here too
from db.sync.identity import SyncError, identity, now_iso
from i18n import _

# Tables whose rows belong to grids (the hub's hub/scope.py): re-read when the office changes our grids.
SCOPED_TABLES = ("household", "membership", "person", "person_tag", "visit", "life_event")
PUSH_BATCH = 5000
MAX_PUSH_BATCH = 20_000  # the hub's limit (hub.service.MAX_BATCH_OPS)
PULL_PAGE = 5000
DEFAULT_INTERVAL_MIN = 15
ROLE_META = "hub_role"  # the role the office enrolled this laptop with (hub.scope.ROLES), from each hello
WARN_DAYS = 3
_FIELDS = ("url", "pin", "cert_pem", "hub_id", "hub_name", "epoch", "cursor", "scope_token", "grids",
           "enrolled_at", "last_attempt_at", "last_sync_at", "last_error", "failures", "next_attempt_at",
           "acked", "offset_ms", "interval_min")


@dataclass
class SyncResult:
    pushed: int = 0
    pulled: int = 0
    left: int = 0
    waiting_leaves: int = 0
    review: int = 0
    conflicts: int = 0
    epoch_changed: bool = False
    skewed: bool = False
    changes: list[oplog.Change] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"pushed": self.pushed, "pulled": self.pulled, "left": self.left, "waiting_leaves": self.waiting_leaves,
                "review": self.review, "conflicts": self.conflicts, "epoch_changed": self.epoch_changed}


class HubRefused(SyncError):
    """The hub answered with a refusal (its message is shown)."""

    def __init__(self, message: str, status: int, data: dict | None = None):
        super().__init__(message)
        self.status = status
        self.data = data or {}


# -- local state ----------------------------------------------------------------------------------

def link(store) -> dict | None:
    row = store.db.execute_sql(f"select {','.join(_FIELDS)} from sync_hub where id = 1").fetchone()
    if row is None:
        return None
    out = dict(zip(_FIELDS, row, strict=True))
    out["acked"] = json.loads(out["acked"] or "{}")
    return out


def _save(store, **values: Any) -> None:
    if "acked" in values:
        values["acked"] = json.dumps(values["acked"], sort_keys=True)
    sets = ", ".join(f"{k} = ?" for k in values)
    store.db.execute_sql(f"update sync_hub set {sets} where id = 1", tuple(values.values()))


def _own_nodes(store) -> list[str]:
    return [n for n in [store.node_id, *(store.get_meta("previous_node_ids") or "").split(",")] if n]


def waiting_changes(store, acked: dict[str, int] | None = None) -> int:
    """This laptop's own changes the hub has not acknowledged yet."""
    current = link(store)
    if acked is None:
        acked = current["acked"] if current else {}
    total = 0
    for node in _own_nodes(store):
        total += store.db.execute_sql("select count(*) from oplog where node = ? and counter > ?",
                                      (node, int(acked.get(node, 0)))).fetchone()[0]
    return total


def status(store, *, now: float | None = None) -> dict:
    """For the status bar and the 办公室同步 tab."""
    current = link(store)
    if current is None:
        return {"enrolled": False}
    now = now or time.time()
    last = current["last_sync_at"]
    days = None if not last else int((now - last) // 86400)
    return {"enrolled": True, "url": current["url"], "hub_name": current["hub_name"], "grids": current["grids"],
            "last_sync_at": last, "last_error": current["last_error"], "failures": current["failures"],
            "next_attempt_at": current["next_attempt_at"], "waiting": waiting_changes(store, current["acked"]),
            "days_since_sync": days, "warn": days is None or days >= WARN_DAYS,
            "interval_min": current["interval_min"], "pin": current["pin"], "role": store.get_meta(ROLE_META) or ""}


def set_interval(store, minutes: int) -> None:
    if not 1 <= int(minutes) <= 24 * 60:
        raise SyncError(_("The sync interval must be between 1 and 1440 minutes."))
    _save(store, interval_min=int(minutes))


def due(store, *, now: float | None = None, rng: random.Random | None = None) -> bool:
    """Is an automatic sync due (interval with jitter elapsed, not backing off)?"""
    current = link(store)
    if current is None:
        return False
    now = now or time.time()
    if current["next_attempt_at"] and now < current["next_attempt_at"]:
        return False
    last = current["last_attempt_at"] or 0
    jitter = (rng or random).uniform(0.85, 1.15)
    return now - last >= current["interval_min"] * 60 * jitter


def backoff_seconds(failures: int, rng: random.Random | None = None) -> float:
    base = min(30 * 2 ** max(0, failures - 1), 3600)
    return base * (rng or random).uniform(0.8, 1.2)


def forget(store) -> None:
    """Leave the office hub (the data stays; enrol again with a new code)."""
    with store.db.atomic():
        store.db.execute_sql("delete from sync_hub")
        store.db.execute_sql("delete from sync_hub_leave")
        store.db.execute_sql("delete from meta where key = ?", (ROLE_META,))


# -- transport ------------------------------------------------------------------------------------

class Transport:
    """Signed JSON requests to the hub over TLS that trusts only the pinned certificate."""

    def __init__(self, store, url: str, cert_pem: str, *, offset_ms: int = 0, timeout: float = 60):
        import httpx

        self.store = store
        self.me = identity(store)
        self.offset_ms = offset_ms
        self.url = url
        self.client = httpx.Client(base_url=url, verify=proto.pinned_context(cert_pem), timeout=timeout,
                                   headers={"content-type": "application/json"})

    def close(self) -> None:
        self.client.close()

    def call(self, path: str, data: dict, *, retry: bool = True) -> dict:
        import httpx

        body = orjson.dumps(data)
        headers = proto.sign_headers(self.me.sign_private, self.me.device_id, "POST", path, body,
                                     offset_ms=self.offset_ms)
        try:
            response = self.client.post(path, content=body, headers=headers)
        except httpx.ConnectError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise SyncError(_("The office hub's certificate does not match the pinned one: this may not be "
                                  "your office hub (an impersonator), or its certificate was renewed. Nothing was "
                                  "sent; ask the office.")) from exc
            raise SyncError(_("Cannot reach the office hub at {url}: {error}").format(url=self.url, error=exc)) from exc
        except httpx.HTTPError as exc:
            raise SyncError(_("The connection to the office hub failed: {error}").format(error=exc)) from exc
        hub_time = response.headers.get(proto.H_HUB_TIME)
        if hub_time:
            self.offset_ms = int(hub_time) - int(time.time() * 1000)
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code == 401 and payload.get("retry") == "time" and retry:
            return self.call(path, data, retry=False)  # signed again with the hub's time
        if response.status_code != 200:
            raise HubRefused(_("The office hub refused: {message}").format(
                message=payload.get("error") or response.reason_phrase), response.status_code, payload)
        return payload


# -- enrolment ------------------------------------------------------------------------------------

def enrol(store, code_text: str, *, transport_factory: Callable[..., Transport] = Transport) -> dict:
    """Enrol this laptop with an office code: check the hub's certificate pin, register our key."""
    code = proto.parse_code(code_text)
    pem = proto.fetch_certificate(code.host, code.port)
    if proto.cert_fingerprint(pem) != code.pin:
        raise SyncError(_("The hub at {host}:{port} shows a certificate that does not match the code's pin "
                          "({pin}…): it is not your office hub. Nothing was sent.").format(
            host=code.host, port=code.port, pin=proto.show_pin(code.pin)[:23]))
    me = identity(store)
    transport = transport_factory(store, code.url, pem)
    try:
        answer = transport.call("/api/enrol", {"code": code.code, "card": me.card(), "node": store.node_id})
    finally:
        transport.close()
    with store.db.atomic():
        store.db.execute_sql("delete from sync_hub")
        store.db.execute_sql("delete from sync_hub_leave")
        store.db.execute_sql(
            "insert into sync_hub (id, url, pin, cert_pem, hub_id, hub_name, epoch, grids, enrolled_at, offset_ms) "
            "values (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (code.url, code.pin, pem, answer["hub_id"], answer.get("name") or "", None, answer["grids"], now_iso(),
             transport.offset_ms))
    return link(store)


# -- sync -----------------------------------------------------------------------------------------

def _parse_item(item: list) -> oplog.OpRecord:
    node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind = item[1:11]
    raw = (node, int(counter), tbl, row_id, fields, supersedes, hlc, user, int(schema), kind)
    prev = bytes.fromhex(item[11]) if len(item) > 11 and item[11] else None  # the hub verified the chain
    return oplog.OpRecord(node, int(counter), tbl, row_id, orjson.loads(fields), orjson.loads(supersedes), hlc,
                          user, int(schema), kind, raw, prev)


def _batch_size(store, node: str, last: int) -> int:
    """Ops of a node to push at once: for another device's node up to its next signed head (the hub
    checks each batch against a head at its end; this device signs heads of its own nodes anywhere)."""
    if node in _own_nodes(store):
        return PUSH_BATCH
    row = store.db.execute_sql("select min(counter) from sync_chain_head where node = ? and counter > ?",
                               (node, last)).fetchone()
    if row and row[0] and row[0] - last <= MAX_PUSH_BATCH:
        return row[0] - last if row[0] - last > PUSH_BATCH else PUSH_BATCH
    return PUSH_BATCH


def _unacked_rows(store, keys: list[tuple[str, str]], acked: dict[str, int]) -> set[tuple[str, str]]:
    nodes = _own_nodes(store)
    found = set()
    for tbl, row_id in keys:
        for node in nodes:
            if store.db.execute_sql("select exists(select 1 from oplog where tbl = ? and rid = ? and node = ? "
                                    "and counter > ?)", (tbl, opstore.rid(row_id), node,
                                                         int(acked.get(node, 0)))).fetchone()[0]:
                found.add((tbl, row_id))
                break
    return found


def _drop_rows(store, keys: list[tuple[str, str]]) -> int:
    """Rows that left this laptop's grids: the row, its conflicts and its ops go (privacy)."""
    by_table: dict[str, list[str]] = defaultdict(list)
    for tbl, row_id in keys:
        by_table[tbl].append(row_id)
    n = 0
    db = store.db
    for tbl, ids in by_table.items():
        model = synced_model(tbl)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            if model is not None:
                n += db.execute_sql(f'delete from "{tbl}" where id in ({marks})', chunk).rowcount
            db.execute_sql(f"delete from conflict where tbl = ? and row_id in ({marks})", (tbl, *chunk))
            db.execute_sql(f"delete from {opstore.STORE} where {opstore.table_where()} and rid in ({marks})",
                           (tbl, *map(opstore.rid, chunk)))
            db.execute_sql(f"delete from sync_hub_leave where tbl = ? and row_id in ({marks})", (tbl, *chunk))
        if model is not None:
            oplog._run_hooks(store, tbl, ids)  # derived data (the register's search index) follows
    return n


def _settle_leaves(store, acked: dict[str, int]) -> tuple[int, int]:
    """Drop the waiting rows whose own changes are now acknowledged; returns (dropped, still waiting)."""
    waiting = [tuple(r) for r in store.db.execute_sql("select tbl, row_id from sync_hub_leave").fetchall()]
    if not waiting:
        return 0, 0
    keep = _unacked_rows(store, waiting, acked)
    ready = [k for k in waiting if k not in keep]
    if ready:
        _without_fk(store, lambda: _drop_rows(store, ready))
    return len(ready), len(keep)


def _without_fk(store, work: Callable[[], Any]) -> Any:
    """Pages of the hub's feed may hold a child before its parent (or drop a parent first): the
    references are whole again once the pull is done, so they are not checked within a page."""
    db = store.db
    db.execute_sql("pragma foreign_keys = 0")
    try:
        with db.atomic():
            return work()
    finally:
        db.execute_sql("pragma foreign_keys = 1")


def sync(store, *, transport: Transport | None = None, progress: Callable[[str, int, int], None] | None = None,
         cancelled: Callable[[], bool] | None = None, rng: random.Random | None = None,
         snapshot: bool = True) -> SyncResult:
    """One sync with the office hub. Raises SyncError (recorded, with back-off) on failure."""
    current = link(store)
    if current is None:
        raise SyncError(_("This laptop is not enrolled at an office hub yet. Enrol it with the office's code."))
    own_transport = transport is None
    if transport is None:
        transport = Transport(store, current["url"], current["cert_pem"], offset_ms=current["offset_ms"])
    _save(store, last_attempt_at=time.time())
    try:
        result = _sync(store, current, transport, progress, cancelled, snapshot)
    except SyncError as exc:
        failures = (current["failures"] or 0) + 1
        _save(store, failures=failures, last_error=str(exc),
              next_attempt_at=time.time() + backoff_seconds(failures, rng), offset_ms=transport.offset_ms)
        raise
    finally:
        if own_transport:
            transport.close()
    _save(store, failures=0, last_error=None, next_attempt_at=None, last_sync_at=time.time(),
          offset_ms=transport.offset_ms)
    if result.pushed or result.pulled:
        from db.accounts.audit import record_exchange

        # Pushed next time: the entry travels to the office with the following sync.
        record_exchange(store, bundle_id=f"hub-{time.time():.0f}", direction="hub", kind="sync",
                        peer_name=current.get("hub_name") or "", ops=result.pushed + result.pulled)
    return result


def _check_cancel(cancelled) -> None:
    if cancelled and cancelled():
        from db.errors import Cancelled

        raise Cancelled(_("The office sync was cancelled; what was acknowledged so far is kept."))


def _apply_items(store, items: list, acked: dict[str, int], result: SyncResult, new_cursor: int | None, *,
                 bulk: bool = False, answer: dict | None = None) -> bool:
    """Apply a page of pulled items (ops and leaves) in one transaction, with the new cursor when
    given; returns whether the ops show this database to be a copy.

    The ops are checked first against their origins' chains and signed heads, across the ops this
    laptop is not sent by the links (db/sync/chains.py), exactly as a bundle's: an op the hub
    altered or made up under a device's id refuses the page (SyncError naming the device), nothing
    of it is applied. A read-only laptop is sent others' ops with the personal numbers masked (no
    longer the ops their devices signed; it never passes them on): it keeps them unchecked."""
    db = store.db
    ops = [_parse_item(i) for i in items if i[0] == "op"]
    leaves = [(i[1], i[2]) for i in items if i[0] == "leave"]
    answer = answer or {}
    proof = None
    if ops and store.get_meta(ROLE_META) != ROLE_READONLY:
        proof = chains.verify(ops, answer.get("heads"), chains.laptop_local(store), answer.get("links"),
                              answer.get("vouchers"))

    def apply():
        applied = None
        if ops:
            if bulk:
                with oplog.deferred_hooks(store):  # a first read: indexes and search index built once
                    applied = oplog.apply_ops(store, ops, rotate=False)
            else:
                applied = oplog.apply_ops(store, ops, rotate=False)
            entered = sorted({(o.tbl, o.row_id) for o in ops})
            for start in range(0, len(entered), 400):
                chunk = entered[start:start + 400]
                db.execute_sql("delete from sync_hub_leave where " + " or ".join(
                    ["(tbl = ? and row_id = ?)"] * len(chunk)), [x for key in chunk for x in key])
        keep = _unacked_rows(store, leaves, acked) if leaves else set()
        _drop_rows(store, [k for k in leaves if k not in keep]) if leaves else 0
        for tbl, row_id in keep:
            db.execute_sql("insert or ignore into sync_hub_leave (tbl, row_id, at) values (?, ?, ?)",
                           (tbl, row_id, now_iso()))
        if proof is not None:
            chains.keep_heads(store, proof.heads)  # checked here (and by the hub on push); passed on
            chains.keep_links(store, proof.links)
            chains.keep_vouchers(store, proof.vouchers)
        if new_cursor is not None:
            _save(store, cursor=new_cursor)
        return applied, len([k for k in leaves if k not in keep]) if leaves else 0

    applied, left = _without_fk(store, apply)
    if applied is not None:
        result.pulled += applied.new_ops
        result.conflicts += applied.conflicts
        result.skewed |= applied.skewed
        for o in ops:
            result.changes.append(oplog.Change(o.tbl, o.row_id, {}, "merge"))
    result.left += left
    return bool(applied is not None and applied.copied_node_detected)


def _check_snapshot(current: dict, answer: dict, expected: dict | None, part: int) -> dict:
    """The manifest signed by the pinned certificate's key, and the part's items as it lists them."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    manifest = answer.get("manifest") or {}
    bad = SyncError(_("The office hub's scope snapshot is damaged or not signed by the pinned certificate; "
                      "nothing of it was applied."))
    try:
        data = orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS)
        key = x509.load_pem_x509_certificate(current["cert_pem"].encode()).public_key()
        key.verify(base64.b64decode(answer.get("signature") or ""), data, ec.ECDSA(hashes.SHA256()))
        digest = hashlib.sha256(orjson.dumps(answer["items"])).hexdigest()
        if digest != manifest["parts"][part] or (expected is not None and manifest != expected):
            raise bad
    except (InvalidSignature, ValueError, TypeError, KeyError, IndexError) as exc:
        raise bad from exc
    return manifest


def _read_snapshot(store, current: dict, transport: Transport, epoch: str, acked: dict[str, int],
                   result: SyncResult, cancelled, progress) -> tuple[int, bool] | None:
    """Apply the hub's snapshot of our scope part by part; the cursor moves to its checkpoint only
    after the last part. Returns (cursor, copied), or None from a hub without snapshots."""
    copied = False
    for _attempt in range(3):
        manifest = None
        part = 0
        while True:
            _check_cancel(cancelled)
            request = {"epoch": epoch, "part": part}
            if manifest is not None:
                request["snapshot"] = manifest["snapshot"]
            try:
                answer = transport.call("/api/snapshot", request)
            except HubRefused as exc:
                if exc.status == 404:
                    return None  # an older hub: the feed from the start
                if exc.status == 410:
                    break  # replaced while we read it: the new one (its leaves drop what left since)
                if exc.status == 409:
                    _save(store, epoch=None, cursor=0)
                raise
            manifest = _check_snapshot(current, answer, manifest, part)
            if manifest["epoch"] != epoch:
                raise SyncError(_("The office hub's scope snapshot is damaged or not signed by the pinned "
                                  "certificate; nothing of it was applied."))
            last = part == len(manifest["parts"]) - 1
            copied |= _apply_items(store, answer["items"], acked, result,
                                   int(manifest["checkpoint"]) if last else None, bulk=True, answer=answer)
            if progress:
                progress("pull", result.pulled, int(manifest["items"]))
            if last:
                return int(manifest["checkpoint"]), copied
            part += 1
    raise SyncError(_("The office hub's scope snapshot kept changing while it was read; try again."))


def _sync(store, current: dict, transport: Transport, progress, cancelled, use_snapshot: bool = True) -> SyncResult:
    result = SyncResult()
    db = store.db
    nodes = [n for (n,) in db.execute_sql("select distinct node from oplog")]
    hello = transport.call("/api/hello", {"nodes": nodes, "cursor": current["cursor"]})
    cursor = int(current["cursor"] or 0)
    rescope = current["epoch"] is not None and (current["scope_token"] or "") != (hello.get("scope_token") or "")
    if current["epoch"] != hello["epoch"] or (current["scope_token"] or "") != (hello.get("scope_token") or ""):
        # A hub restored from a backup (new epoch) or a changed scope: read our grids again from the start.
        result.epoch_changed = current["epoch"] is not None
        cursor = 0
        _save(store, epoch=hello["epoch"], cursor=0, scope_token=hello.get("scope_token") or "")
    _save(store, grids=hello["grids"], hub_name=hello.get("name") or "")
    role = hello.get("role") or ""
    if store.get_meta(ROLE_META) != role:
        store.set_meta(**{ROLE_META: role})
    # What the hub holds replaces what we believed (it may hold less after a restore).
    acked = {n: int(v) for n, v in hello["vector"].items()}
    # Push: every op above what the hub holds (ours, and others' that came by USB stick). A
    # read-only laptop holds others' ops with the personal numbers masked: it sends only its own.
    todo = []
    own_nodes = set(_own_nodes(store))
    for node in nodes if role != ROLE_READONLY else [n for n in nodes if n in own_nodes]:
        top = acked.get(node, 0)
        n = db.execute_sql("select count(*) from oplog where node = ? and counter > ?", (node, top)).fetchone()[0]
        if n:
            todo.append((node, top, n))
    total = sum(n for *_x, n in todo)
    done = 0
    for node, top, _n in todo:
        last = top
        while True:
            _check_cancel(cancelled)
            rows = db.execute_sql(f"select {oplog._OP_COLUMNS}, lower(hex(prev)) from oplog where node = ? "
                                  "and counter > ? order by counter limit ?",
                                  (node, last, _batch_size(store, node, last))).fetchall()
            rows = opfields.wire_rows(db, rows)  # the op's JSON text, as it was written
            if not rows:
                break
            span = {node: [rows[0][1], rows[-1][1]]}
            heads = chains.heads_for(store, span)
            answer = transport.call("/api/push", {"epoch": hello["epoch"], "ops": [list(r) for r in rows],
                                                  "heads": heads, "links": chains.links_for(store, span),
                                                  "vouchers": chains.vouchers_for(store, heads)})
            result.review += answer.get("review", 0)
            result.pushed += answer.get("stored", 0)
            for n_, v in answer.get("vector", {}).items():
                acked[n_] = int(v)
            last = rows[-1][1]
            done += len(rows)
            if progress:
                progress("push", done, total)
            _save(store, acked=acked)
    _save(store, acked=acked)
    dropped, _waiting = _settle_leaves(store, acked)
    result.left += dropped
    if rescope:
        # The office changed our grids: drop the grid rows (once our own changes to them are at the
        # office) and read the new scope from the start; rows still ours come back with it.
        held = [(t, r) for t in SCOPED_TABLES for (r,) in db.execute_sql(f'select id from "{t}"')]
        keep = _unacked_rows(store, held, acked)
        for key in held:
            if key in keep:
                db.execute_sql("insert or ignore into sync_hub_leave (tbl, row_id, at) values (?, ?, ?)",
                               (*key, now_iso()))
        result.left += _without_fk(store, lambda: _drop_rows(store, [k for k in held if k not in keep]))
    # Pull: a first read of our scope (cursor 0) takes the hub's scope snapshot, then the feed after it.
    epoch = hello["epoch"]
    own = {store.node_id: int(db.execute_sql("select coalesce(max(counter), 0) from oplog where node = ?",
                                             (store.node_id,)).fetchone()[0])}
    copied = False
    if cursor == 0 and use_snapshot:
        taken = _read_snapshot(store, current, transport, epoch, acked, result, cancelled, progress)
        if taken is not None:
            cursor, copied = taken
    while True:
        _check_cancel(cancelled)
        try:
            page = transport.call("/api/pull", {"epoch": epoch, "cursor": cursor, "limit": PULL_PAGE, "own": own})
        except HubRefused as exc:
            if exc.status == 409:
                # Restored while we were syncing: start over next time (nothing applied is lost).
                _save(store, epoch=None, cursor=0)
            raise
        copied |= _apply_items(store, page["items"], acked, result, int(page["cursor"]), answer=page)
        cursor = int(page["cursor"])
        if progress:
            progress("pull", result.pulled, result.pulled)
        if not page["more"]:
            break
    if copied:
        store.rotate_node_id()
    result.waiting_leaves = db.execute_sql("select count(*) from sync_hub_leave").fetchone()[0]
    if cursor != int(current["cursor"] or 0) or result.pushed:
        transport.call("/api/hello", {"nodes": [], "cursor": cursor})  # for the office's "pending" column
    return result


# -- the office's review queue (an administrator's computer) --------------------------------------

REVIEW_KINDS = ("left_scope", "fault", "conflict")


@dataclass
class ReviewItem:
    """One thing the hub holds for the office to decide (hub/review.py), labelled from this database."""

    kind: str  # left_scope | fault | conflict
    key: str
    tbl: str
    row_id: str
    label: str
    device_name: str = ""
    user: str | None = None
    at_ms: int | None = None
    fields: list[str] = field(default_factory=list)
    grids: list[str] = field(default_factory=list)
    conflicts: int = 0
    stored_by: str = ""


@dataclass
class ReviewQueue:
    items: list[ReviewItem]
    counts: dict[str, int]


def is_office_admin(store) -> bool:
    """Was this laptop enrolled as the office's administrator computer (it sees the review queue)?"""
    current = link(store)
    return current is not None and current["grids"] == "*" and store.get_meta(ROLE_META) == ROLE_ADMIN


def _transport_for(store) -> Transport:
    current = link(store)
    if current is None:
        raise SyncError(_("This laptop is not enrolled at an office hub yet. Enrol it with the office's code."))
    return Transport(store, current["url"], current["cert_pem"], offset_ms=current["offset_ms"])


def _call(store, path: str, data: dict, transport: Transport | None) -> dict:
    own = transport is None
    transport = transport or _transport_for(store)
    try:
        return transport.call(path, data)
    finally:
        if own:
            transport.close()


def review_queue(store, *, transport: Transport | None = None) -> ReviewQueue:
    """What the hub holds for the office to decide, each item named as this database names the row."""
    from db.accounts.session import require_admin
    from db.sync.conflicts import _label

    require_admin(store)
    answer = _call(store, "/api/review", {}, transport)
    items = []
    for raw in answer.get("items") or []:
        tbl, row_id = str(raw.get("tbl") or ""), str(raw.get("row_id") or "")
        label = _label(store.db, tbl, row_id) if tbl and row_id else ""
        items.append(ReviewItem(str(raw["kind"]), str(raw["key"]), tbl, row_id, label,
                                raw.get("device_name") or "", raw.get("user"), raw.get("at"),
                                list(raw.get("fields") or []), list(raw.get("grids") or []),
                                int(raw.get("conflicts") or 0), raw.get("stored_by") or ""))
    return ReviewQueue(items, {k: int(v) for k, v in (answer.get("counts") or {}).items()})


def undo_reviewed_change(store, item: ReviewItem) -> list[oplog.Change]:
    """Undo an edit made after its record left the sender's grids: one op that gives each field it
    still decides the value it would have without it (superseding it). One transaction."""
    from db.accounts.session import require_admin

    require_admin(store)
    history = oplog.ops_for_rows(store.db, item.tbl, [item.row_id]).get(item.row_id, [])
    target = next((op for op in history if op.id == item.key), None)
    if target is None:
        raise SyncError(_("The change under review is not on this computer yet; sync with the office first."))
    now = oplog.resolve(history)
    before = oplog.resolve([op for op in history if op.id != item.key])
    values: dict[str, Any] = {}
    for column in target.fields:
        if column != "id" and any(op.id == item.key for op in now.live.get(column, ())):
            values[column] = before.values.get(column, 0 if column == "deleted" else None)
    model = synced_model(item.tbl)
    if not values or model is None:
        return []  # later changes replaced it already: nothing of it is left to undo
    with store.db.atomic():
        return oplog.write(store, model, [{"id": item.row_id, **values}])


def resolve_with_newest(store, item: ReviewItem) -> list[oplog.Change]:
    """Settle every conflicting field of a row with its newest value (one transaction, one op each)."""
    from db.accounts.session import require_admin
    from db.sync.conflicts import list_conflicts, resolve_conflict

    require_admin(store)
    rows = store.db.execute_sql("select field from conflict where tbl = ? and row_id = ?",
                                (item.tbl, item.row_id)).fetchall()
    if not rows:
        return []
    wanted = {f for (f,) in rows}
    changes: list[oplog.Change] = []
    with store.db.atomic():
        for conflict in list_conflicts(store, limit=100_000):
            if conflict.table == item.tbl and conflict.row_id == item.row_id and conflict.field in wanted:
                newest = max(conflict.candidates, key=lambda c: c.hlc)
                changes += resolve_conflict(store, item.tbl, item.row_id, conflict.field, newest.value)
    return changes


def _record_decision(store, item: ReviewItem, decision: str) -> None:
    """The office's decision in the audit trail (it travels to the hub with the next sync)."""
    from db.accounts import audit

    audit.record(store, action="hub_review", target_table=item.tbl or None, target_id=item.row_id or None,
                 detail=f"{item.kind}: {decision} ({item.key})")


def decide_review(store, item: ReviewItem, decision: str, *, transport: Transport | None = None,
                  progress: Callable[[str, int, int], None] | None = None) -> SyncResult | None:
    """Carry out the office's decision on one item: keep (the hub closes it), undo (our undoing op,
    sent to the hub, then the item closed), seen (a fault looked into), newest (a conflict settled
    here and sent). Returns the sync's result when a change of ours had to reach the hub."""
    from db.accounts.session import require_admin

    require_admin(store)
    own = transport is None
    transport = transport or _transport_for(store)
    try:
        result = None
        if item.kind == "left_scope" and decision == "undo":
            changes = undo_reviewed_change(store, item)
            result = sync(store, transport=transport, progress=progress)
            result.changes[:0] = changes
        elif item.kind == "conflict":
            if decision != "newest":
                raise SyncError(_("A conflict is settled by choosing a value."))
            changes = resolve_with_newest(store, item)
            result = sync(store, transport=transport, progress=progress)
            result.changes[:0] = changes
            return result
        elif not ((item.kind == "left_scope" and decision == "keep") or (item.kind == "fault" and decision == "seen")):
            raise SyncError(_("This decision does not fit this review item."))
        transport.call("/api/review/decide", {"kind": item.kind, "key": item.key, "decision": decision})
        _record_decision(store, item, decision)
        return result
    finally:
        if own:
            transport.close()
