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

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from db import oplog
from db.models import synced_model
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
            "interval_min": current["interval_min"], "pin": current["pin"]}


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
            if store.db.execute_sql("select exists(select 1 from oplog where tbl = ? and row_id = ? and node = ? "
                                    "and counter > ?)", (tbl, row_id, node, int(acked.get(node, 0)))).fetchone()[0]:
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
            db.execute_sql(f"delete from oplog where tbl = ? and row_id in ({marks})", (tbl, *chunk))
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
         cancelled: Callable[[], bool] | None = None, rng: random.Random | None = None) -> SyncResult:
    """One sync with the office hub. Raises SyncError (recorded, with back-off) on failure."""
    current = link(store)
    if current is None:
        raise SyncError(_("This laptop is not enrolled at an office hub yet. Enrol it with the office's code."))
    own_transport = transport is None
    if transport is None:
        transport = Transport(store, current["url"], current["cert_pem"], offset_ms=current["offset_ms"])
    _save(store, last_attempt_at=time.time())
    try:
        result = _sync(store, current, transport, progress, cancelled)
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


def _sync(store, current: dict, transport: Transport, progress, cancelled) -> SyncResult:
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
    # What the hub holds replaces what we believed (it may hold less after a restore).
    acked = {n: int(v) for n, v in hello["vector"].items()}
    # Push: every op above what the hub holds (ours, and others' that came by USB stick).
    todo = []
    for node in nodes:
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
            if not rows:
                break
            heads = chains.heads_for(store, {node: [rows[0][1], rows[-1][1]]})
            answer = transport.call("/api/push", {"epoch": hello["epoch"], "ops": [list(r) for r in rows],
                                                  "heads": heads})
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
    # Pull.
    epoch = hello["epoch"]
    own = {store.node_id: int(db.execute_sql("select coalesce(max(counter), 0) from oplog where node = ?",
                                             (store.node_id,)).fetchone()[0])}
    copied = False
    while True:
        _check_cancel(cancelled)
        try:
            page = transport.call("/api/pull", {"epoch": epoch, "cursor": cursor, "limit": PULL_PAGE, "own": own})
        except HubRefused as exc:
            if exc.status == 409:
                # Restored while we were syncing: start over next time (nothing applied is lost).
                _save(store, epoch=None, cursor=0)
            raise
        ops = [_parse_item(i) for i in page["items"] if i[0] == "op"]
        leaves = [(i[1], i[2]) for i in page["items"] if i[0] == "leave"]
        new_cursor = int(page["cursor"])

        heads = chains.parse_heads(page.get("heads"))

        def apply(ops=ops, leaves=leaves, new_cursor=new_cursor, heads=heads):
            applied = oplog.apply_ops(store, ops, rotate=False) if ops else None
            chains.keep_heads(store, heads)  # verified by the hub on push; passed on with the ops
            if ops:
                entered = sorted({(o.tbl, o.row_id) for o in ops})
                for tbl, row_id in entered:
                    db.execute_sql("delete from sync_hub_leave where tbl = ? and row_id = ?", (tbl, row_id))
            keep = _unacked_rows(store, leaves, acked) if leaves else set()
            gone = _drop_rows(store, [k for k in leaves if k not in keep]) if leaves else 0
            for tbl, row_id in keep:
                db.execute_sql("insert or ignore into sync_hub_leave (tbl, row_id, at) values (?, ?, ?)",
                               (tbl, row_id, now_iso()))
            _save(store, cursor=new_cursor)
            return applied, len([k for k in leaves if k not in keep]) if leaves else 0, gone

        applied, left, _gone = _without_fk(store, apply)
        if applied is not None:
            result.pulled += applied.new_ops
            result.conflicts += applied.conflicts
            result.skewed |= applied.skewed
            copied |= applied.copied_node_detected
            for o in ops:
                result.changes.append(oplog.Change(o.tbl, o.row_id, {}, "merge"))
        result.left += left
        cursor = new_cursor
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
