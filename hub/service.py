"""The hub's work, independent of HTTP and of the backend: push, pull, enrolment, devices, stats.

Push stores ops exactly as received (idempotent by op id; the same id with other content is a
fault, kept in hub_fault and reported), merges the rows they touch with db.oplog.resolve (the
desktop's merge) to know each row's grids, and appends the feed: per grid, the ops of its rows,
a "leave" when a row's grids lose one, and on "enter" every op of the row (its winning ops and
open conflict candidates are not enough: a later edit names only the op it replaced, so the grid
would see an older value of the field still live, a conflict nobody made). All in one write
transaction, committed before the push is acknowledged. Pull reads a device's grids of the feed after its cursor, up to the
committed checkpoint, in one snapshot.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import re
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from db import oplog
from db.sync import chains
from db.sync.errors import SyncError
from hub import scope as sc
from hub.storage import OP_COLUMNS, Storage
from i18n import _

MAX_BATCH_OPS = 20_000
MAX_PULL_ITEMS = 20_000
CODE_TTL_HOURS = 72
CODE_TRIES = 5
_HLC = re.compile(r"^\d{16}-\d{6}-\S+$")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand


class HubError(Exception):
    """A refused request: status is the HTTP status, the message is shown to the person."""

    def __init__(self, message: str, status: int = 400, **extra: Any):
        super().__init__(message)
        self.status = status
        self.extra = extra


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Device:
    device_id: str
    name: str
    sign_public: str
    box_public: str | None
    node: str | None
    grids: frozenset[str] | None  # None: every grid (the office's own desktop)
    revoked_at: int | None
    cursor: int = 0
    last_seen: int | None = None
    role: str = ""  # hub.scope.ROLES; "" before it is read (default_role)

    @property
    def grids_text(self) -> str:
        return sc.ALL if self.grids is None else sc.dump(self.grids)

    @property
    def effective_role(self) -> str:
        return self.role or sc.default_role(self.grids)


def _grids_from_text(text: str) -> frozenset[str] | None:
    return None if text == sc.ALL else sc.parse(text)


@dataclass
class PushResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    faults: int = 0
    review: int = 0
    withheld: int = 0  # masked copies a read-only device sent back (not stored: they are no changes)
    vector: dict[str, int] = field(default_factory=dict)
    epoch: str = ""

    def as_dict(self) -> dict:
        return {"received": self.received, "stored": self.stored, "duplicates": self.duplicates,
                "faults": self.faults, "review": self.review, "withheld": self.withheld, "vector": self.vector,
                "epoch": self.epoch}


def parse_ops(raw: Any) -> list[oplog.OpRecord]:
    """Check every op of a pushed batch; the first malformed one is named and nothing is stored."""
    if not isinstance(raw, list):
        raise HubError(_("The batch is malformed (no list of changes). Nothing was stored."))
    if len(raw) > MAX_BATCH_OPS:
        raise HubError(_("The batch holds {n} changes; at most {limit} are accepted at once. Nothing was "
                         "stored.").format(n=len(raw), limit=MAX_BATCH_OPS), 413)
    ops = []
    append, loads, hlc_match, record = ops.append, orjson.loads, _HLC.match, oplog.OpRecord
    for i, r in enumerate(raw):
        try:
            node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind, *extra = r
            if len(extra) == 1 and type(extra[0]) is str and len(extra[0]) == 64:
                prev = bytes.fromhex(extra[0])  # the common case: a chained op
                if len(prev) != 32:
                    raise ValueError
            else:
                prev = _prev(extra)
            if not (type(node) is str and 0 < len(node) <= 64 and type(counter) is int and counter > 0
                    and type(tbl) is str and tbl.isidentifier() and type(row_id) is str and 0 < len(row_id) <= 64
                    and type(hlc) is str and hlc_match(hlc) and type(schema) is int
                    and type(kind) is str and (user is None or type(user) is str)
                    and type(fields) is str and type(supersedes) is str):
                raise ValueError
            f = loads(fields)
            s = {} if supersedes == "{}" else loads(supersedes)
            if type(f) is not dict or type(s) is not dict:
                raise ValueError
        except (ValueError, TypeError) as exc:
            raise HubError(_("The batch's change {n} is malformed. Nothing was stored.").format(n=i + 1)) from exc
        append(record(node, counter, tbl, row_id, f, s, hlc, user, schema, kind,
                      (node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind), prev))
    return ops


def _prev(extra: list) -> bytes | None:
    """A pushed op's 11th element: the hex chain digest of its node's previous op ("" or absent: none)."""
    if not extra or extra[0] is None or extra[0] == "":
        if len(extra) > 1:
            raise ValueError
        return None
    if len(extra) != 1 or type(extra[0]) is not str:
        raise ValueError
    prev = bytes.fromhex(extra[0])
    if len(prev) != 32:
        raise ValueError
    return prev


def _hub_local(storage: Storage, conn) -> chains.Local:
    """chains.verify's view of the hub's tables (inside the push's write transaction)."""
    s = storage
    cols = ", ".join(OP_COLUMNS)
    devices: dict[str, tuple] = {}

    def known(device_id: str) -> tuple:
        """(sign_public, name) of an enrolled device, read when a head or a refusal names it."""
        if device_id not in devices:
            devices[device_id] = s.fetchone(conn, "select sign_public, name from hub_device where device_id = ?",
                                            (device_id,)) or (None, "")
        return devices[device_id]

    def op(node: str, counter: int):
        row = s.fetchone(conn, f"select {cols}, prev from hub_op where node = ? and counter = ?", (node, counter))
        if row is None:
            return False, None, None
        if not row[10]:
            return True, None, None
        prev = bytes.fromhex(row[10])
        return True, chains.digest(row[0], row[1], row[2], row[3], orjson.loads(row[4]), orjson.loads(row[5]),
                                   row[6], row[7], row[8], row[9], prev), prev

    def heads_above(node: str, counter: int):
        return [(int(c), bytes.fromhex(d)) for c, d in s.fetchall(
            conn, "select counter, digest from hub_head where node = ? and counter >= ? order by counter",
            (node, counter))]

    def bound(node: str):
        row = s.fetchone(conn, "select device from hub_head where node = ? limit 1", (node,)) or s.fetchone(
            conn, "select device_id from hub_device where node = ? limit 1", (node,))
        return row[0] if row else None

    def voucher_key(device_id: str):
        """The key of an enrolled, not revoked device (it may vouch for others), read when named."""
        row = s.fetchone(conn, "select sign_public from hub_device where device_id = ? and revoked_at is null",
                         (device_id,))
        return row[0] if row else None

    def vouched_key(device_id: str):
        row = s.fetchone(conn, "select sign_public from hub_voucher where device_id = ? limit 1", (device_id,))
        return row[0] if row else None

    return chains.Local(op=op, heads_above=heads_above, bound=bound,
                        trusted_key=lambda d: known(d)[0], name_of=lambda d: known(d)[1] or "",
                        vouched_key=vouched_key, voucher_key=voucher_key)


def proof_for(storage: Storage, conn, sent: Iterable[tuple[str, int]],
              sign: Callable[[bytes], str] | None = None) -> tuple[list[list], dict, list[list]]:
    """What a laptop needs to check the ops `sent` (node, counter) against their origins' chains
    (db/sync/chains.py): the signed heads that cover them, and the links (content digests) of the
    ops of those nodes it is not sent, from each op sent up to the next one sent or the next head.
    Sent with pull pages and snapshot parts; the laptop keeps both and passes them on."""
    span: dict[str, list[int]] = defaultdict(list)
    for node, counter in sent:
        span[node].append(counter)
    heads: list[list] = []
    links: dict[str, dict[int, bytes]] = {}
    cols = ", ".join(OP_COLUMNS)
    for node, counters in sorted(span.items()):
        counters = sorted(set(counters))
        lo, hi = counters[0], counters[-1]
        signed = []
        for c, d, dev, key, sig in storage.fetchall(
                conn, "select counter, digest, device, sign_public, signature from hub_head "
                      "where node = ? and counter >= ? order by counter", (node, lo)):
            heads.append([node, int(c), d, dev, key, sig])
            signed.append(int(c))
            if c >= hi:
                break
        wanted: list[list[int]] = []  # counter ranges whose links are needed
        taken = set(counters)
        for i, c in enumerate(counters):
            if c + 1 in taken or c in signed:
                continue
            k = bisect.bisect_left(signed, c + 1)
            if k == len(signed):
                continue  # no head above (an older version's ops): nothing to link to
            end = signed[k]
            if i + 1 < len(counters):
                end = min(end, counters[i + 1] - 1)
            if wanted and wanted[-1][1] >= c:
                wanted[-1][1] = max(wanted[-1][1], end)
            else:
                wanted.append([c + 1, end])
        found: dict[int, bytes] = {}
        for a, b in wanted:
            expected = a
            for r in storage.fetchall(conn, f"select {cols} from hub_op where node = ? and counter >= ? "
                                            "and counter <= ? order by counter", (node, a, b)):
                link = chains.content_digest(r[0], int(r[1]), r[2], r[3], orjson.loads(r[4]), orjson.loads(r[5]),
                                             r[6], r[7], int(r[8]), r[9])
                if int(r[1]) != expected or link is None:
                    break  # a hole here too, or ops from before links: the laptop decides
                found[expected] = link
                expected += 1
        if found:
            links[node] = found
    return heads, chains.dump_links(links), vouchers_for(storage, conn, {h[3] for h in heads}, sign)


def vouchers_for(storage: Storage, conn, devices: set[str], sign: Callable[[bytes], str] | None) -> list[list]:
    """Vouchers for these devices' keys: the hub's own (signed with its certificate's key) for the
    devices it enrolled, and those enrolled devices gave for others (with the hub's for the givers)."""
    out: list[list] = []
    done: set[str] = set()
    todo = list(devices)
    while todo:
        device = todo.pop()
        if device in done:
            continue
        done.add(device)
        row = storage.fetchone(conn, "select sign_public, name from hub_device where device_id = ?", (device,))
        if row is not None and sign is not None:
            signature = sign(chains.vouch_message(device, row[0]))
            if signature:
                out.append([device, row[0], row[1] or "", chains.HUB, signature])
            continue
        for d, by, key, name, sig in storage.fetchall(
                conn, "select device_id, by, sign_public, name, signature from hub_voucher where device_id = ?",
                (device,)):
            out.append([d, key, name or "", by, sig])
            todo.append(by)
    return out


NOTE_KINDS = ("gap", "hole", "fork")  # what the hub records of chains.Proof.notes (a gap is a proven hole)


_EMPTY: frozenset[str] = frozenset()


@lru_cache(maxsize=65536)
def _one_grid(grid: str) -> frozenset[str]:
    """A household's scope: one set object per grid (sc.dump's cache then finds it by identity)."""
    return frozenset({grid})
_ROW_COLUMNS = "tbl, row_id, g, h, p, home, scope, ever, conflicts"


class _Row:
    __slots__ = ("tbl", "row_id", "g", "h", "p", "home", "scope", "ever", "conflicts", "old", "dirty", "reach")

    def __init__(self, tbl, row_id, g=None, h=None, p=None, home="", scope="", ever="", conflicts=0, *,
                 new=False):
        self.tbl, self.row_id, self.g, self.h, self.p = tbl, row_id, g, h, p
        if new:
            self.home = self.scope = self.ever = _EMPTY
        else:
            self.home = sc.parse(home)
            self.scope = sc.parse(scope)
            self.ever = sc.parse(ever)
        self.conflicts = conflicts
        self.old = None if new else self.scope
        self.dirty = new
        # The grids this row was in before this push, is in after it, or passed through within it
        # (created in one grid and moved in the same batch): what the sender may have held.
        self.reach = self.scope

    def as_tuple(self) -> tuple:
        return (self.tbl, self.row_id, self.g, self.h, self.p, sc.dump(self.home), sc.dump(self.scope),
                sc.dump(self.ever), self.conflicts)


class _Merge:
    """One push's merge of scope: row states loaded on demand, evaluated level by level."""

    def __init__(self, storage: Storage, conn, device: Device):
        self.s, self.conn, self.device = storage, conn, device
        self.rows: dict[tuple[str, str], _Row] = {}
        self.ops: dict[tuple[str, str], list[oplog.OpRecord]] = {}
        self.by_link: dict[str, dict] = {"h": defaultdict(set), "p": defaultdict(set)}
        self.fresh_parents_only = False

    def load(self, table: str, row_ids) -> None:
        wanted = [r for r in set(row_ids) if r and (table, r) not in self.rows]
        if not wanted:
            return
        for row in self.s.select_in(self.conn, f"select {_ROW_COLUMNS} from hub_row where tbl = ? and {{in}}",
                                    "row_id", wanted, (table,)):
            self.rows[(row[0], row[1])] = _Row(*row)

    def index_links(self) -> None:
        """Rows by parent (h, p): built once the push's own links are set; loads add to it."""
        self.by_link = {"h": defaultdict(set), "p": defaultdict(set)}
        for key, r in self.rows.items():
            self._index(key, r)

    def _index(self, key, r) -> None:
        if r.h:
            self.by_link["h"][r.h].add(key)
        if r.p:
            self.by_link["p"][r.p].add(key)

    def load_children(self, slot: str, parent_ids, tables) -> list[tuple[str, str]]:
        parent_ids = {p for p in parent_ids if p}
        if not parent_ids:
            return []
        # Parents new to the hub can have stored children only when those came first (out of order).
        stored = [p for p in parent_ids if self.maybe_stored(p)]
        for row in self.s.select_in(self.conn, f"select {_ROW_COLUMNS} from hub_row where {{in}}", slot, stored):
            if row[0] in tables:
                key = (row[0], row[1])
                if key not in self.rows:
                    r = self.rows[key] = _Row(*row)
                    self._index(key, r)
        index = self.by_link[slot]
        found = set()
        for parent in parent_ids:
            for key in index.get(parent, ()):
                if key[0] in tables and getattr(self.rows[key], slot) == parent:
                    found.add(key)
        return sorted(found)

    def maybe_stored(self, parent: str) -> bool:
        if not self.fresh_parents_only:
            return True
        return any((t, parent) not in self.rows or self.rows[(t, parent)].old is not None
                   for t in ("household", "person"))

    def history(self, keys) -> dict[tuple[str, str], list[oplog.OpRecord]]:
        by_table: dict[str, list[str]] = defaultdict(list)
        for t, r in keys:
            by_table[t].append(r)
        found: dict[tuple[str, str], list[oplog.OpRecord]] = defaultdict(list)
        cols = ", ".join(OP_COLUMNS)
        for table, ids in by_table.items():
            for row in self.s.select_in(self.conn, f"select {cols} from hub_op where tbl = ? and {{in}}",
                                        "row_id", ids, (table,)):
                found[(row[2], row[3])].append(oplog._op_from_row(row))
        return found

    def history_ids(self, keys) -> dict[tuple[str, str], list[tuple[str, int]]]:
        """The ids (node, counter) of the stored ops of rows: what a feed entry names (no fields parsed)."""
        by_table: dict[str, list[str]] = defaultdict(list)
        for t, r in keys:
            by_table[t].append(r)
        found: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
        for table, ids in by_table.items():
            for node, counter, rid in self.s.select_in(
                    self.conn, "select node, counter, row_id from hub_op where tbl = ? and {in}", "row_id", ids,
                    (table,)):
                found[(table, rid)].append((node, counter))
        return found

    def scope_of(self, key, attr: str = "scope") -> frozenset[str]:
        row = self.rows.get(key)
        return getattr(row, attr) if row is not None else frozenset()

    def evaluate(self, row: _Row, members: dict[str, list[_Row]], attr: str = "scope") -> frozenset[str]:
        t = row.tbl
        rows = self.rows

        def scope_of(key):
            other = rows.get(key)
            return getattr(other, attr) if other is not None else _EMPTY
        if t == "household":
            return _one_grid(row.g) if row.g else row.home
        if t == "membership":
            return scope_of(("household", row.h)) if row.h else row.home
        if t == "person":
            held = members.get(row.row_id, ())
            if len(held) == 1:  # most persons: one household (its set object, dumped from cache)
                return getattr(held[0], attr) or row.home
            grids: set[str] = set()
            for m in held:
                grids |= getattr(m, attr)
            return frozenset(grids) if grids else row.home
        if t == "person_tag":
            return scope_of(("person", row.p)) if row.p else row.home
        # visit, life_event: every grid that holds both of what it names
        hs = scope_of(("household", row.h)) if row.h else None
        ps = scope_of(("person", row.p)) if row.p else None
        if hs is not None and ps is not None:
            return hs & ps
        if hs is not None:
            return hs
        if ps is not None:
            return ps
        return row.home


def _vector_advance(storage: Storage, conn, nodes: dict[str, set[int]]) -> dict[str, int]:
    """Raise each node's contiguous counter (every op up to it is here) past the ops just stored."""
    tops = dict(storage.select_in(conn, "select node, top from hub_node where {in}", "node", list(nodes)))
    out = {}
    for node, counters in nodes.items():
        top = tops.get(node, 0)
        while top + 1 in counters:
            top += 1
        if top + 1 not in counters:
            # Ops that arrived earlier, out of order, may close the gap now.
            above = [c for (c,) in storage.fetchall(
                conn, "select counter from hub_op where node = ? and counter > ? order by counter limit 50000",
                (node, top))]
            for c in above:
                if c != top + 1:
                    break
                top = c
        out[node] = top
    sql = storage.upsert_sql("hub_node", ("node", "top"), ("node",))
    conn.cursor().executemany(sql, list(out.items()))
    return out


class HubService:
    def __init__(self, storage: Storage):
        self.storage = storage
        self.signer: Callable[[bytes], str] | None = None  # the certificate's key (hub/app.py sets it)
        self._signed: dict[bytes, str] = {}

    def sign(self, data: bytes) -> str:
        """data signed with the hub's certificate key (base64 ECDSA; "" without one), made once per data."""
        if self.signer is None:
            return ""
        found = self._signed.get(data)
        if found is None:
            found = self._signed[data] = self.signer(data)
        return found

    # -- meta -------------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        with self.storage.read() as conn:
            return self.storage.meta(conn)

    @property
    def epoch(self) -> str:
        return self.meta()["epoch"]

    # -- devices ----------------------------------------------------------------------------------
    def device(self, device_id: str) -> Device | None:
        with self.storage.read() as conn:
            row = self.storage.fetchone(
                conn, "select device_id, name, sign_public, box_public, node, grids, revoked_at, cursor, last_seen "
                      "from hub_device where device_id = ?", (device_id,))
            role = self.storage.fetchone(conn, "select value from hub_meta where key = ?", (f"role:{device_id}",))
        if row is None:
            return None
        return Device(row[0], row[1] or "", row[2], row[3], row[4], _grids_from_text(row[5]), row[6], row[7], row[8],
                      (role[0] if role else "") or sc.default_role(_grids_from_text(row[5])))

    def devices(self) -> list[dict]:
        s = self.storage
        with s.read() as conn:
            rows = s.fetchall(conn, "select device_id, name, grids, enrolled_at, last_seen, revoked_at, pushed, "
                                    "pulled, cursor from hub_device order by name, device_id")
            meta = s.meta(conn)
            committed = int(meta.get("committed_seq") or 0)
            notes = self.chain_notes(conn)
            out = []
            for r in rows:
                grids = _grids_from_text(r[2])
                mine = [n for n in notes if n["device"] == r[0]]
                out.append({"device_id": r[0], "name": r[1], "grids": r[2], "enrolled_at": r[3], "last_seen": r[4],
                            "revoked_at": r[5], "pushed": r[6], "pulled": r[7], "cursor": r[8],
                            "role": meta.get(f"role:{r[0]}") or sc.default_role(grids),
                            "pending": self._pending(conn, grids, r[8], committed),
                            "holes": sum(1 for n in mine if n["kind"] == "hole" and n["missing"]),
                            "forks": sum(1 for n in mine if n["kind"] == "fork")})
        return out

    def chain_notes(self, conn=None) -> list[dict]:
        """The holes and forks the hub saw in devices' histories, with how many ops of a hole it still lacks."""
        s = self.storage
        with (s.read() if conn is None else nullcontext(conn)) as c:
            names = dict(s.fetchall(c, "select device_id, name from hub_device"))
            out = []
            for node, first, last, kind, dev, relay, at in s.fetchall(
                    c, "select node, first, last, kind, device, relay, at from hub_chain_note order by at, node, first"):
                first, last = int(first), int(last)
                missing = 0
                if kind == "hole":
                    held = int(s.fetchone(c, "select count(*) from hub_op where node = ? and counter >= ? "
                                             "and counter < ?", (node, first, last))[0])
                    missing = max(last - first - held, 0)
                out.append({"node": node, "first": first, "last": last, "kind": kind, "device": dev,
                            "device_name": names.get(dev) or "", "relay": relay, "relay_name": names.get(relay) or "",
                            "at": at, "missing": missing})
        return out

    def _pending(self, conn, grids: frozenset[str] | None, cursor: int, committed: int) -> int:
        s = self.storage
        if grids is None:
            row = s.fetchone(conn, "select count(*) from hub_feed where seq > ? and seq <= ?", (cursor, committed))
            return int(row[0])
        total = 0
        for clause, params in s.in_clause("grid", sorted(grids | {sc.ALL})):
            total += int(s.fetchone(conn, f"select count(*) from hub_feed where seq > ? and seq <= ? and {clause}",
                                    (cursor, committed, *params))[0])
        return total

    def revoke(self, device_id: str) -> None:
        with self.storage.write() as conn:
            cur = self.storage.execute(conn, "update hub_device set revoked_at = ? where device_id = ? "
                                             "and revoked_at is null", (now_ms(), device_id))
            if cur.rowcount == 0:
                raise HubError(_("No enrolled device {device} (or it is already revoked).").format(device=device_id),
                               404)

    def set_scope(self, device_id: str, grids: frozenset[str] | None) -> None:
        """Change a device's grids; it reads its (new) scope again from the start."""
        text = sc.ALL if grids is None else sc.dump(grids)
        device = self.device(device_id)
        if device is not None and grids is None and device.effective_role == sc.ROLE_GRID:
            raise HubError(_("A grid worker's laptop receives its own grids only; it cannot be given every grid."),
                           403)
        with self.storage.write() as conn:
            cur = self.storage.execute(conn, "update hub_device set grids = ?, cursor = 0 where device_id = ?",
                                       (text, device_id))
            if cur.rowcount == 0:
                raise HubError(_("No enrolled device {device}.").format(device=device_id), 404)
            # The device sees its scope changed by a new scope token: it starts reading from 0.
            self.storage.set_meta(conn, **{f"scope_token:{device_id}": secrets.token_hex(4)})

    def find_device(self, text: str) -> dict:
        key = text.replace("-", "").strip().lower()
        found = [d for d in self.devices() if d["device_id"] == key or d["device_id"].startswith(key)
                 or (d["name"] or "") == text.strip()]
        if len(found) != 1:
            raise HubError(_("No single enrolled device matches “{text}”.").format(text=text), 404)
        return found[0]

    # -- enrolment --------------------------------------------------------------------------------
    def create_code(self, *, grids: frozenset[str] | None, name: str = "", hours: float = CODE_TTL_HOURS,
                    role: str | None = None) -> str:
        code_id = "".join(secrets.choice(_ALPHABET) for _ in range(4))
        secret = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        text = sc.ALL if grids is None else sc.dump(grids)
        if grids is not None and not grids:
            raise HubError(_("Name at least one grid for the device (or all grids)."))
        role = role or sc.default_role(grids)
        if role not in sc.ROLES:
            raise HubError(_("Unknown role “{role}” (admin, grid or readonly).").format(role=role))
        if role == sc.ROLE_GRID and grids is None:
            raise HubError(_("A grid worker's laptop receives its own grids only; name its grids."), 403)
        now = now_ms()
        with self.storage.write() as conn:
            while self.storage.fetchone(conn, "select 1 from hub_code where code_id = ?", (code_id,)):
                code_id = "".join(secrets.choice(_ALPHABET) for _ in range(4))  # taken (one in a million)
            self.storage.set_meta(conn, **{f"code_role:{code_id}": role})
            self.storage.execute(conn, "insert into hub_code (code_id, secret_hash, grids, name, created_at, "
                                       "expires_at) values (?,?,?,?,?,?)",
                                 (code_id, _hash(secret), text, name, now, now + int(hours * 3_600_000)))
        return f"{code_id}-{secret[:4]}-{secret[4:]}"

    def codes(self) -> list[dict]:
        with self.storage.read() as conn:
            rows = self.storage.fetchall(conn, "select code_id, grids, name, created_at, expires_at, tries, used_at, "
                                               "used_by from hub_code order by created_at")
        return [dict(zip(("code_id", "grids", "name", "created_at", "expires_at", "tries", "used_at", "used_by"), r,
                         strict=True)) for r in rows]

    def redeem(self, code: str, *, card: dict, node: str | None) -> Device:
        """Enrol the device of `card` with a one-time code; five wrong tries lock the code."""
        from db.sync.identity import read_card

        clean = re.sub(r"[^A-Za-z0-9]", "", code or "").upper()
        if len(clean) != 12:
            raise HubError(_("The enrolment code is not valid: it has 12 letters and digits (XXXX-XXXX-XXXX)."), 403)
        code_id, secret = clean[:4], clean[4:]
        try:
            card = read_card(orjson.dumps(card))
        except Exception as exc:  # noqa: BLE001 - SyncError: the card's own message
            raise HubError(str(exc), 400) from exc
        s = self.storage
        now = now_ms()
        failure: HubError | None = None
        with s.write() as conn:
            row = s.fetchone(conn, "select secret_hash, grids, name, expires_at, tries, used_at from hub_code "
                                   "where code_id = ?", (code_id,))
            if row is None:
                raise HubError(_("The enrolment code is not valid. Ask the office for a new one."), 403)
            secret_hash, grids, name, expires_at, tries, used_at = row
            if tries >= CODE_TRIES:
                raise HubError(_("This enrolment code is locked after {n} wrong tries. Ask the office for a new "
                                 "one.").format(n=CODE_TRIES), 403)
            if used_at:
                raise HubError(_("This enrolment code was already used. Ask the office for a new one."), 403)
            if expires_at < now:
                raise HubError(_("This enrolment code has expired. Ask the office for a new one."), 403)
            if not hmac.compare_digest(secret_hash, _hash(secret)):
                s.execute(conn, "update hub_code set tries = tries + 1 where code_id = ?", (code_id,))
                left = CODE_TRIES - tries - 1
                failure = HubError(_("The enrolment code is wrong ({left} tries left before it is locked).").format(
                    left=left), 403)
            else:
                s.execute(conn, "update hub_code set used_at = ?, used_by = ? where code_id = ?",
                          (now, card["device_id"], code_id))
                s.execute(conn, "delete from hub_device where device_id = ? and revoked_at is null",
                          (card["device_id"],))
                if s.fetchone(conn, "select 1 from hub_device where device_id = ?", (card["device_id"],)):
                    raise HubError(_("This device was revoked; a revoked device cannot enrol again with the same "
                                     "key."), 403)
                s.execute(conn, "insert into hub_device (device_id, name, sign_public, box_public, node, grids, "
                                "enrolled_at, last_seen) values (?,?,?,?,?,?,?,?)",
                          (card["device_id"], card.get("name") or name, card["sign_public"], card.get("box_public"),
                           node, grids, now, now))
                role = s.fetchone(conn, "select value from hub_meta where key = ?", (f"code_role:{code_id}",))
                s.set_meta(conn, **{f"role:{card['device_id']}": (role[0] if role else None)
                                    or sc.default_role(_grids_from_text(grids))})
        if failure is not None:
            raise failure
        device = self.device(card["device_id"])
        assert device is not None
        return device

    # -- hello ------------------------------------------------------------------------------------
    def hello(self, device: Device, *, nodes: list[str], cursor: int | None) -> dict:
        s = self.storage
        if (cursor is not None and int(cursor) != device.cursor) or now_ms() - (device.last_seen or 0) > 60_000:
            # Written only when something changed (an idle laptop's timer costs no write transaction).
            with s.write() as conn:
                s.execute(conn, "update hub_device set last_seen = ?" + (", cursor = ?" if cursor is not None else "")
                          + " where device_id = ?",
                          (now_ms(), *((int(cursor),) if cursor is not None else ()), device.device_id))
        with s.read() as conn:
            meta = s.meta(conn)
            vector = dict(s.select_in(conn, "select node, top from hub_node where {in}", "node",
                                      [n for n in nodes if isinstance(n, str)][:10_000]))
        return {"hub_id": meta["hub_id"], "epoch": meta["epoch"], "checkpoint": int(meta["committed_seq"]),
                "grids": device.grids_text, "scope_token": meta.get(f"scope_token:{device.device_id}", ""),
                "role": device.effective_role,
                "vector": vector, "name": meta.get("name") or ""}

    # -- push -------------------------------------------------------------------------------------
    def push(self, device: Device, raw_ops: Any, raw_heads: Any = None, raw_links: Any = None,
             raw_vouchers: Any = None) -> PushResult:
        ops = parse_ops(raw_ops)
        s = self.storage
        result = PushResult(received=len(ops))
        # The same id twice in one batch: the first is taken; other content is a fault.
        batch: dict[tuple[str, int], oplog.OpRecord] = {}
        faults: list[tuple] = []
        now = now_ms()
        for op in ops:
            key = (op.node, op.counter)
            seen = batch.get(key)
            if seen is None:
                batch[key] = op
            elif seen.raw[2:] != op.raw[2:]:
                faults.append((op.node, op.counter, orjson.dumps(list(op.raw)).decode(), device.device_id, now))
            else:
                result.duplicates += 1
        checked = ops
        if device.effective_role == sc.ROLE_READONLY:
            # A read-only device holds masked copies of others' ops: sent back (after a restore of
            # the hub, or relayed), they are no changes and must not replace or fault the real ones
            # (nor be checked against their origins: they are not what the origins signed).
            for key in [k for k, op in batch.items() if sc.holds_masked(op.fields)]:
                del batch[key]
                result.withheld += 1
            checked = [op for op in ops if not sc.holds_masked(op.fields)]
        with s.write() as conn:
            meta = s.meta(conn)
            result.epoch = meta["epoch"]
            by_node: dict[str, list[int]] = defaultdict(list)
            for node, counter in batch:
                by_node[node].append(counter)
            for node, counters in by_node.items():
                cols = ", ".join(OP_COLUMNS)
                for row in s.select_in(conn, f"select {cols} from hub_op where node = ? and {{in}}", "counter",
                                       counters, (node,)):
                    op = batch.pop((row[0], row[1]))
                    if tuple(row[2:]) != tuple(op.raw[2:]):
                        faults.append((op.node, op.counter, orjson.dumps(list(op.raw)).decode(),
                                       device.device_id, now))
                    else:
                        result.duplicates += 1
            fresh = list(batch.values())
            # What is stored is checked whole; what is held already with the same content needs no
            # proof, and an op id held with other content is kept as a fault for review, not applied.
            keep = {(op.node, op.counter) for op in fresh}
            proof = self._verify_origins(conn, [op for op in checked if (op.node, op.counter) in keep],
                                         raw_heads, raw_links, raw_vouchers)
            s.bulk_insert(conn, "hub_fault", ("node", "counter", "content", "device", "at"), faults)
            result.faults = len(faults)
            if fresh:
                feed, review = self._merge(conn, device, fresh)
                s.bulk_insert(conn, "hub_op", (*OP_COLUMNS, "device", "received_at", "prev"),
                              [(*op.raw, device.device_id, now, op.prev.hex() if op.prev else None) for op in fresh])
                seq = int(meta.get("committed_seq") or 0)
                rows = []
                for entry in feed:
                    seq += 1
                    rows.append((seq, *entry))
                s.bulk_insert(conn, "hub_feed", ("seq", "grid", "kind", "tbl", "row_id", "node", "counter"), rows)
                s.bulk_insert(conn, "hub_review", ("device_id", "tbl", "row_id", "node", "counter", "at", "reason"),
                              [(device.device_id, op.tbl, op.row_id, op.node, op.counter, now, reason)
                               for op, reason in review])
                result.review = len(review)
                nodes: dict[str, set[int]] = defaultdict(set)
                for op in fresh:
                    nodes[op.node].add(op.counter)
                _vector_advance(s, conn, nodes)
                s.set_meta(conn, committed_seq=seq)
                s.execute(conn, "update hub_device set pushed = pushed + ?, last_seen = ? where device_id = ?",
                          (len(fresh), now, device.device_id))
            self._keep_proof(conn, proof, device, now)
            result.stored = len(fresh)
            nodes_in = sorted({op.node for op in ops})
            result.vector = dict(s.select_in(conn, "select node, top from hub_node where {in}", "node", nodes_in))
        return result

    def _verify_origins(self, conn, ops: list[oplog.OpRecord], raw_heads: Any, raw_links: Any = None,
                        raw_vouchers: Any = None) -> chains.Proof:
        """Each op against its origin's chain and signed heads (db/sync/chains.py); the whole push is
        refused (nothing stored) for an altered or made-up op, naming the device."""
        try:
            return chains.verify(ops, raw_heads, _hub_local(self.storage, conn), raw_links, raw_vouchers)
        except SyncError as exc:
            raise HubError(str(exc), 422) from exc

    def _keep_proof(self, conn, proof: chains.Proof, relay: Device | None = None, now: int = 0) -> None:
        s = self.storage
        notes = [n for n in proof.notes if n[3] in NOTE_KINDS]
        if notes:
            local = _hub_local(s, conn)
            conn.cursor().executemany(s.q(
                "insert into hub_chain_note (node, first, last, kind, device, relay, at) values (?,?,?,?,?,?,?) "
                "on conflict (node, first, kind) do nothing"),
                [(node, first, last, "hole" if kind == "gap" else kind, local.bound(node) or next(
                    (h.device_id for h in proof.heads if h.node == node), None),
                  relay.device_id if relay else None, now) for node, first, last, kind in notes])
        if proof.vouchers:
            conn.cursor().executemany(s.q(
                "insert into hub_voucher (device_id, by, sign_public, name, signature) values (?,?,?,?,?) "
                "on conflict (device_id, by) do nothing"),
                [(v.device_id, v.by, v.sign_public, v.name, v.signature) for v in proof.vouchers])
        if proof.heads:
            conn.cursor().executemany(s.q(
                "insert into hub_head (node, counter, digest, device, sign_public, signature) values (?,?,?,?,?,?) "
                "on conflict (node, counter) do nothing"),
                [(h.node, h.counter, h.digest.hex(), h.device_id, h.sign_public, h.signature) for h in proof.heads])

    def _merge(self, conn, device: Device, fresh: list[oplog.OpRecord]) -> tuple[list[tuple], list]:
        """Row states and feed entries for the fresh ops; refuses ops outside the device's grids."""
        s = self.storage
        m = _Merge(s, conn, device)
        incoming: dict[tuple[str, str], list[oplog.OpRecord]] = defaultdict(list)
        for op in fresh:
            incoming[(op.tbl, op.row_id)].append(op)
        by_table: dict[str, list[str]] = defaultdict(list)
        for t, r in incoming:
            by_table[t].append(r)
        for table, ids in by_table.items():
            m.load(table, ids)
        known = [k for k in incoming if k in m.rows]
        history = m.history(known) if known else {}
        home = frozenset() if device.grids is None else device.grids
        live: dict[tuple[str, str], list[oplog.OpRecord]] = {}
        moved_from: list[str] = []
        for key, ops in incoming.items():
            all_ops = history.get(key, []) + ops
            row = m.rows.get(key)
            if row is None:
                row = m.rows[key] = _Row(key[0], key[1], new=True)
                row.home = home
            if len(all_ops) == 1 and not all_ops[0].supersedes:
                values = all_ops[0].fields
                row.conflicts = 0
                live[key] = all_ops
            else:
                resolved = oplog.resolve(all_ops)
                values = resolved.values
                row.conflicts = len(resolved.conflicts)
                live[key] = all_ops
            links = sc.LINKS.get(key[0])
            if links:
                if key[0] == "membership" and row.p and row.old is not None:
                    moved_from.append(row.p)  # a membership given to another person: both re-evaluated
                for column, slot in links.items():
                    if column in values:
                        setattr(row, slot, values[column])
            elif key[0] == "grid":
                row.g, row.h = values.get("name", row.g), values.get("code", row.h)
            row.dirty = True
        m.index_links()
        # Scope, level by level; a change of a parent's scope brings its children in.
        work: dict[str, set[str]] = defaultdict(set)
        for t, r in incoming:
            work[t].add(r)
        work["person"].update(moved_from)
        grids_passed: dict[str, frozenset[str]] = {
            key[1]: frozenset(op.fields["grid_id"] for op in ops if op.fields.get("grid_id"))
            for key, ops in incoming.items() if key[0] == "household"}
        changed: set[tuple[str, str]] = set()
        for level in sc.LEVELS:
            for table in level:
                ids = work.get(table, set())
                if not ids:
                    continue
                m.load(table, ids)
                # Their parents, stored by earlier pushes.
                level_rows = [m.rows[(table, rid)] for rid in ids if (table, rid) in m.rows]
                if table in ("membership", "visit", "life_event"):
                    m.load("household", [r.h for r in level_rows])
                if table in ("person_tag", "visit", "life_event"):
                    m.load("person", [r.p for r in level_rows])
                members: dict[str, list[_Row]] = {}
                if table == "person":
                    keys = m.load_children("p", ids, {"membership"})
                    for k in keys:
                        r = m.rows[k]
                        if r.p:
                            members.setdefault(r.p, []).append(r)
                for rid in ids:
                    row = m.rows.get((table, rid))
                    if row is None:
                        continue  # a row referred to that the hub has not seen yet
                    new_scope = m.evaluate(row, members)
                    if new_scope != row.scope or row.old is None:
                        if new_scope != row.scope:
                            changed.add((table, rid))
                        row.scope = new_scope
                        row.dirty = True
                    passed = grids_passed.get(rid, frozenset()) if table == "household" else m.evaluate(
                        row, members, "reach")
                    row.reach = (row.old or frozenset()) | new_scope | passed
            # Children of changed rows of this level, to evaluate at the next levels.
            level_changed = [k for k in changed if k[0] in level]
            hs = [k[1] for k in level_changed if k[0] == "household"]
            ms = [k for k in level_changed if k[0] == "membership"]
            ps = [k[1] for k in level_changed if k[0] == "person"]
            for k in m.load_children("h", hs, {"membership", "visit", "life_event"}):
                work[k[0]].add(k[1])
            for k in ms:
                r = m.rows[k]
                if r.p:
                    work["person"].add(r.p)
            for k in m.load_children("p", ps, {"person_tag", "visit", "life_event"}):
                work[k[0]].add(k[1])
        # Who may send what.
        review: list[tuple[oplog.OpRecord, str]] = []
        for op in fresh:
            key = (op.tbl, op.row_id)
            if op.tbl not in sc.SCOPED or device.grids is None:
                continue
            row = m.rows[key]
            if row.old is None:
                # A new row: somewhere in the sender's grids when it made it (or not placed yet).
                if not row.reach or sc.meets(row.reach, device.grids):
                    continue
            elif not row.old or sc.meets(row.old, device.grids):
                continue  # the sender held it (or it was not placed in a grid yet)
            elif sc.meets(row.ever, device.grids):
                review.append((op, "left_scope"))  # it left the sender's grids: the office decides
                continue
            raise HubError(_("The change {op} is for a row ({table} {row}) of a grid this device is not enrolled "
                             "for. Nothing was stored.").format(op=op.id, table=op.tbl, row=op.row_id), 403)
        # The feed.
        feed: list[tuple] = []
        seen: set[tuple] | None = None  # the entries so far, made when a second entry may repeat one

        def add(grid, kind, table, rid, node=None, counter=None):
            nonlocal seen
            if seen is None:
                seen = set(feed)
            entry = (grid, kind, table, rid, node, counter)
            if entry not in seen:
                seen.add(entry)
                feed.append(entry)

        # Each fresh op once per grid of its row: no entry repeats (fresh ops have distinct ids).
        append = feed.append
        rows_get = m.rows.get
        for op in fresh:
            if sc.community_wide(op.tbl):
                append((sc.ALL, "op", op.tbl, op.row_id, op.node, op.counter))
                continue
            row = rows_get((op.tbl, op.row_id))
            grids = row.scope if row else ()
            for grid in (grids if len(grids) < 2 else sorted(grids)):
                append((grid, "op", op.tbl, op.row_id, op.node, op.counter))
        entering = [k for k in changed if m.rows[k].old is not None and m.rows[k].scope - m.rows[k].old]
        missing = [k for k in entering if k not in live]
        live_ids = m.history_ids(missing) if missing else {}
        for key, row in m.rows.items():
            if row.old is None and row.reach - row.scope:
                # Made in one grid and moved out within this push: the sender's grids get a leave.
                for grid in sorted(row.reach - row.scope):
                    add(grid, "leave", key[0], key[1])
        for key in sorted(k for k in changed if m.rows[k].old is not None):  # rows new here are done above
            row = m.rows[key]
            for grid in sorted(row.old - row.scope):
                add(grid, "leave", key[0], key[1])
            entered = row.scope - row.old
            if not entered:
                continue
            ids = [(op.node, op.counter) for op in live[key]] if key in live else live_ids.get(key, ())
            for grid in sorted(entered):
                for node, counter in ids:
                    add(grid, "op", key[0], key[1], node, counter)
        # Row states.
        dirty = [r for r in m.rows.values() if r.dirty]
        for r in dirty:
            if not r.scope <= r.ever:  # the same set object where it does not grow (dumped from cache)
                r.ever = r.ever | r.scope if r.ever else r.scope
        if dirty:
            new_rows = [r.as_tuple() for r in dirty if r.old is None]
            old_rows = [r.as_tuple() for r in dirty if r.old is not None]
            s.bulk_insert(conn, "hub_row", ("tbl", "row_id", "g", "h", "p", "home", "scope", "ever", "conflicts"),
                          new_rows)
            s.bulk_upsert(conn, "hub_row", ("tbl", "row_id", "g", "h", "p", "home", "scope", "ever", "conflicts"),
                          ("tbl", "row_id"), old_rows)
        return feed, review

    # -- pull -------------------------------------------------------------------------------------
    def pull(self, device: Device, *, epoch: str, cursor: int, limit: int = 5000,
             own: dict[str, int] | None = None) -> dict:
        s = self.storage
        limit = max(1, min(int(limit), MAX_PULL_ITEMS))
        own = own or {}
        with s.read() as conn:
            meta = s.meta(conn)
            if epoch != meta["epoch"]:
                raise HubError(_("The hub was restored from a backup (new epoch): sync again from the start."),
                               409, epoch=meta["epoch"])
            checkpoint = int(meta["committed_seq"])
            cols = ", ".join(f"o.{c}" for c in (*OP_COLUMNS, "prev"))
            base = (f"select f.seq, f.kind, f.tbl, f.row_id, r.scope, {cols} from hub_feed f "
                    "left join hub_row r on r.tbl = f.tbl and r.row_id = f.row_id "
                    "left join hub_op o on o.node = f.node and o.counter = f.counter "
                    "where f.seq > ? and f.seq <= ?")
            if device.grids is None:
                rows = s.fetchall(conn, base + " order by f.seq limit ?", (cursor, checkpoint, limit))
            else:
                (clause, params), = s.in_clause("f.grid", sorted(device.grids | {sc.ALL}))
                rows = s.fetchall(conn, base + f" and {clause} order by f.seq limit ?",
                                  (cursor, checkpoint, *params, limit))
        items: list[list] = []
        sent: set[tuple[str, int]] = set()
        left: set[tuple[str, str]] = set()
        masked = device.effective_role == sc.ROLE_READONLY  # 只读: personal numbers never leave unmasked
        for row in rows:
            _seq, kind, tbl, row_id, scope_text = row[:5]
            current = frozenset({sc.ALL}) if sc.community_wide(tbl) else sc.parse(scope_text)
            inside = sc.meets(current, device.grids)
            if kind == "leave":
                if not inside and (tbl, row_id) not in left:
                    left.add((tbl, row_id))
                    items.append(["leave", tbl, row_id])
                continue
            op = row[5:]
            if not inside or op[0] is None:
                continue  # the row is outside the device's grids now (a leave follows or came)
            key = (op[0], op[1])
            if key in sent or own.get(op[0], 0) >= op[1]:
                continue
            sent.add(key)
            if masked:
                op = (*op[:4], sc.masked_fields(op[4]), *op[5:])
            items.append(["op", *op])
        heads, links, vouchers = self._heads_for_page(sent) if not masked else ([], {}, [])
        more = len(rows) == limit
        next_cursor = rows[-1][0] if more else checkpoint
        if next_cursor < cursor:
            next_cursor = cursor
        return {"epoch": meta["epoch"], "items": items, "cursor": next_cursor, "more": more,
                "checkpoint": checkpoint, "heads": heads, "links": links, "vouchers": vouchers}

    def _heads_for_page(self, sent: set[tuple[str, int]]) -> tuple[list[list], dict, list[list]]:
        """The signed heads that cover the ops of a pull page, the links across what is not sent and
        the vouchers for the heads' keys."""
        with self.storage.read() as conn:
            return proof_for(self.storage, conn, sent, self.sign)

    def record_pulled(self, device: Device, n: int) -> None:
        if n:
            with self.storage.write() as conn:
                self.storage.execute(conn, "update hub_device set pulled = pulled + ? where device_id = ?",
                                     (n, device.device_id))

    # -- admin ------------------------------------------------------------------------------------
    def stats(self) -> dict:
        s = self.storage
        with s.read() as conn:
            meta = s.meta(conn)
            ops = int(s.fetchone(conn, "select count(*) from hub_op")[0])
            faults = int(s.fetchone(conn, "select count(*) from hub_fault")[0])
            review = int(s.fetchone(conn, "select count(*) from hub_review")[0])
            grids = dict(s.fetchall(conn, "select row_id, g from hub_row where tbl = 'grid'"))
            per_scope = s.fetchall(conn, "select scope, tbl, count(*), sum(conflicts) from hub_row "
                                         "where tbl in ('household', 'person') group by scope, tbl")
            conflict_scope = s.fetchall(conn, "select scope, sum(conflicts) from hub_row where conflicts > 0 "
                                              "group by scope")
            devices = int(s.fetchone(conn, "select count(*) from hub_device where revoked_at is null")[0])
            notes = self.chain_notes(conn)
        by_grid: dict[str, dict] = {}
        for scope_text, tbl, n, _c in per_scope:
            for g in sc.parse(scope_text) or {""}:
                entry = by_grid.setdefault(g, {"grid": g, "name": grids.get(g, g), "households": 0, "persons": 0,
                                               "conflicts": 0})
                entry["households" if tbl == "household" else "persons"] += int(n)
        for scope_text, n in conflict_scope:
            for g in sc.parse(scope_text) or {""}:
                entry = by_grid.setdefault(g, {"grid": g, "name": grids.get(g, g), "households": 0, "persons": 0,
                                               "conflicts": 0})
                entry["conflicts"] += int(n or 0)
        return {"hub_id": meta["hub_id"], "epoch": meta["epoch"], "backend": s.kind,
                "checkpoint": int(meta["committed_seq"]), "ops": ops, "faults": faults, "review": review,
                "devices": devices, "grids": sorted(by_grid.values(), key=lambda e: e["name"] or ""),
                "holes": sum(1 for n in notes if n["kind"] == "hole" and n["missing"]),
                "forks": sum(1 for n in notes if n["kind"] == "fork"), "chain_notes": notes}

    def grid_ids(self, names: list[str]) -> frozenset[str]:
        """Grid ids from ids, names or codes (as the community's ledger calls them)."""
        with self.storage.read() as conn:
            grids = self.storage.fetchall(conn, "select row_id, g, h from hub_row where tbl = 'grid'")
        out = set()
        for name in names:
            match = [g[0] for g in grids if name in (g[0], g[1], g[2])]
            if len(match) != 1:
                if re.fullmatch(r"[0-9a-f-]{36}", name):
                    out.add(name)  # a grid the hub has not seen yet, given by id
                    continue
                known = "、".join(sorted(str(g[1]) for g in grids if g[1])) or _("none yet")
                raise HubError(_("No single grid is called “{name}” (grids the hub knows: {known}).").format(
                    name=name, known=known), 404)
            out.add(match[0])
        return frozenset(out)


def _hash(secret: str) -> str:
    return hashlib.sha256(b"griddesk-hub-code:" + secret.encode()).hexdigest()
