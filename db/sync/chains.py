"""Changes that prove who made them: each node's ops form a hash chain whose heads its device signs.

Every op names `prev`, the chain digest of the op before it under the same node (32 zero bytes
for counter 1). An op's chain digest is sha256(prev + canonical JSON of its logical content:
node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind), computed from the
values, never from stored bytes, so a change of how the log stores fields changes no digest.
A head is the device's Ed25519 signature over (node, counter, digest): it vouches for that op
and, through the chain, for every op before it. A device signs heads of its own nodes when it
exports or pushes: at every multiple of CHECKPOINT and at its top, so a relay can cut batches at
signed points. Relays keep every head they received and pass them on with the ops.

Verifying costs one sha256 per op over its canonical JSON (linked_digests: one loop, no per-op
intermediates; about 2.5 µs an op on the bench machine, of which sha256's own call costs about 1 µs
and orjson's sorted encoding about 1 µs) and one Ed25519 check per head (about 0.2 ms).

Every importer (a USB bundle on a laptop, a push at the hub) checks each incoming op against its
origin's chain and key (`verify`): an op that was altered, or invented under another device's
node, is refused, the whole bundle or push with it. What cannot be proven is kept and noted
(sync_chain_note, shown by `griddesk check`): a hole (the relay does not hold the ops between an
op and the next signed head, e.g. a laptop that pulled only its grids from the hub) or a fork
(the origin signed two histories: a copied database file). Ops from before chains existed
(an older version's bundle, or a relay whose history had holes when it upgraded) carry no prev:
they are accepted as "unproven" and noted, unless the node already has a signed head above them
(then the origin signs its changes, and an unsigned one is refused).

Links across holes (schema 18 on): an op written at schema LINKED or later is chained through the
digest of its content, sha256(prev + sha256(canonical JSON)), so the chain can be followed across
ops one does not hold given only their content digests (the "links", 32 bytes an op, saying
nothing of the content). A relay that carries ops of a device past a hole in its history carries
the links of the missing ops from the op before the hole up to the next signed head (or the next
op it carries); the importer folds them and compares with the signed head: an op that was placed
in a hole (made up) does not fit and is refused, naming the device. Without links, a hole after an
op of schema LINKED or later is refused too (a relay of this version always has them: the hub
serves them with every pull and snapshot); before it, the hole is kept and noted as before, so
bundles of older versions stay importable. A node's schema never decreases along its counters (a
restored or copied file writes under a new node), so a change that claims an older schema than
the op before it is refused as altered.

Vouched keys: a head signed by a device this database has never seen is accepted only with a
voucher for that device's key: the office hub's (signed with its certificate's key, for devices it
enrolled; checked against the pinned certificate) or a trusted device's (one in the trusted-device
list, or itself vouched for: each relay vouches for the keys it accepted, with its own key). A
bundle or pull of this version always carries the vouchers of the devices whose heads it carries;
a head from an unvouched key is refused naming the device. Bundles of older versions carry none:
their unknown keys are trusted on first sight as before, and noted.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import groupby
from operator import attrgetter, lt

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from db import opfields
from db.sync.errors import SyncError
from i18n import _

ZERO = bytes(32)
LINKED = 18  # ops written at this schema or later are chained through their content digest (links)
CHECKPOINT = 5000  # own heads are signed at every multiple of this counter (the push batch size)
_SORT = orjson.OPT_SORT_KEYS
_HEAD_TAG = b"GD-CHAIN-1\n"


def _linkable(payload: bytes, schema: int) -> bytes:
    """What the chain hashes of an op's canonical JSON: the JSON itself before LINKED, its digest after."""
    return hashlib.sha256(payload).digest() if schema >= LINKED else payload


def digest(node: str, counter: int, tbl: str, row_id: str, fields: dict, supersedes: dict, hlc: str,
           user: str | None, schema: int, kind: str, prev: bytes) -> bytes:
    """The chain digest of one op from its logical values and the digest of the op before it."""
    return hashlib.sha256(prev + _linkable(orjson.dumps(
        (node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind), option=_SORT), schema)).digest()


def op_digest(op, prev: bytes) -> bytes:
    return hashlib.sha256(prev + _linkable(orjson.dumps(
        (op.node, op.counter, op.tbl, op.row_id, op.fields, op.supersedes, op.hlc, op.user, op.schema, op.kind),
        option=_SORT), op.schema)).digest()


def content_digest(node: str, counter: int, tbl: str, row_id: str, fields: dict, supersedes: dict, hlc: str,
                   user: str | None, schema: int, kind: str) -> bytes | None:
    """An op's link (the digest of its content the chain hashes), None before LINKED (no link)."""
    if schema < LINKED:
        return None
    return hashlib.sha256(orjson.dumps((node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind),
                                       option=_SORT)).digest()


def follow(prev: bytes, link: bytes) -> bytes:
    """The chain digest of an op of schema LINKED or later from the one before it and its link."""
    return hashlib.sha256(prev + link).digest()


_sha256 = hashlib.sha256
_dumps = orjson.dumps
_DUMPS = partial(orjson.dumps, option=_SORT)
_COUNTER = attrgetter("counter")
_NODE = attrgetter("node")


def linked_digests(ops: Sequence) -> list[bytes] | None:
    """The chain digests of a run of one node's ops whose every op names the digest of the op before it
    in the run (the first one's prev is taken as given); None if an op has no prev or a link is broken.

    The handover's hot loop (millions of ops): one pass, the digest fed straight from the op's values
    (sha256 over prev and the canonical JSON, or from LINKED on over prev and the JSON's digest;
    no intermediate tuples or lists per op)."""
    if not ops:
        return []
    out: list[bytes] = []
    append = out.append
    sha256, dumps, option, linked = _sha256, _dumps, _SORT, LINKED
    expect = ops[0].prev
    if expect is None:
        return None
    for op in ops:
        prev = op.prev
        if prev != expect:
            return None
        payload = dumps((op.node, op.counter, op.tbl, op.row_id, op.fields, op.supersedes, op.hlc, op.user,
                         op.schema, op.kind), option=option)
        if op.schema >= linked:  # chained through its content digest (its link)
            payload = sha256(payload).digest()
        expect = sha256(prev + payload).digest()
        append(expect)
    return out


def _row_digest(db, row: Sequence, prev: bytes) -> bytes:
    """row: node, counter, tbl, row_id, fields (stored form, db.opfields), supersedes JSON, hlc, user,
    schema, kind."""
    return digest(row[0], row[1], row[2], row[3], opfields.loads(db, row[4]), orjson.loads(row[5] or "{}"),
                  row[6], row[7], row[8], row[9], prev)


_COLS = "node, counter, tbl, row_id, fields, supersedes, hlc, user, schema, kind, prev"


def local_op(db, node: str, counter: int) -> tuple[bool, bytes | None, bytes | None]:
    """(held, its chain digest, its prev) of the op (node, counter) in this op log."""
    row = db.execute_sql(f"select {_COLS} from oplog where node = ? and counter = ?", (node, counter)).fetchone()
    if row is None:
        return False, None, None
    prev = bytes(row[10]) if row[10] is not None else None
    return True, (_row_digest(db, row, prev) if prev is not None else None), prev


def tip(db, node: str, counter: int) -> bytes | None:
    """The chain digest of this node's op `counter` (ZERO before its first op); None: not chained."""
    if counter <= 0:
        return ZERO
    return local_op(db, node, counter)[1]


def fill_log(db, chunk: int = 50_000, progress: Callable[[int, int], None] | None = None) -> int:
    """Migration: compute prev for the ops already in the log, in order per node (see module doc).

    A node's ops get a prev while its history here is whole from counter 1; after a hole they stay
    without (unproven). Read in counter ranges; each range's canonical forms are made by C-level maps,
    only the chain itself is a loop."""
    nodes = [n for (n,) in db.execute_sql("select distinct node from oplog")]
    total = db.execute_sql("select count(*) from oplog").fetchone()[0] if progress else 0
    filled = 0
    loads = orjson.loads

    def fields_of(stored):  # the log's stored form (packed since migration 14)
        return opfields.loads(db, stored)

    sha256 = hashlib.sha256
    for node in nodes:
        prev, expected = ZERO, 1
        while True:
            rows = db.execute_sql(f"select {_COLS} from oplog where node = ? and counter >= ? and counter < ? "
                                  "order by counter", (node, expected, expected + chunk)).fetchall()
            if not rows:
                break
            whole = rows[-1][1] == expected + len(rows) - 1
            if not whole:  # a hole: chain up to it
                rows = rows[:next((i for i, r in enumerate(rows) if r[1] != expected + i), len(rows))]
            if not rows:
                break
            cols = list(zip(*rows, strict=True))
            payloads = map(_DUMPS, zip(cols[0], cols[1], cols[2], cols[3], map(fields_of, cols[4]),
                                       map(loads, cols[5]), cols[6], cols[7], cols[8], cols[9], strict=True))
            updates = []
            append = updates.append
            for counter, payload in zip(cols[1], map(_linkable, payloads, cols[8]), strict=True):
                append((prev, node, counter))
                prev = sha256(prev + payload).digest()
            db.cursor().executemany("update oplog set prev = ? where node = ? and counter = ?", updates)
            filled += len(updates)
            expected += len(rows)
            if progress:
                progress(min(filled, total), total)
            if not whole:
                break
    return filled


# -- heads ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Head:
    node: str
    counter: int
    digest: bytes
    device_id: str
    sign_public: str  # base64
    signature: str  # base64

    def as_list(self) -> list:
        return [self.node, self.counter, self.digest.hex(), self.device_id, self.sign_public, self.signature]

    @classmethod
    def from_list(cls, item) -> Head:
        node, counter, hexdigest, device_id, sign_public, signature = item
        if not (type(node) is str and type(counter) is int and counter > 0 and type(device_id) is str
                and type(sign_public) is str and type(signature) is str and type(hexdigest) is str):
            raise ValueError
        d = bytes.fromhex(hexdigest)
        if len(d) != 32:
            raise ValueError
        return cls(node, counter, d, device_id, sign_public, signature)


def _message(node: str, counter: int, d: bytes, device_id: str) -> bytes:
    return _HEAD_TAG + f"{node}\n{counter}\n{device_id}\n".encode() + d


def sign_head(me, node: str, counter: int, d: bytes) -> Head:
    """me: a db.sync.identity.Identity."""
    from db.sync.identity import b64

    return Head(node, counter, d, me.device_id, b64(me.sign_public),
                b64(me.sign_private.sign(_message(node, counter, d, me.device_id))))


def _valid_signature(head: Head) -> bool:
    from db.sync.identity import device_id_for, unb64

    try:
        key = unb64(head.sign_public)
        if device_id_for(key) != head.device_id:
            return False
        Ed25519PublicKey.from_public_bytes(key).verify(
            unb64(head.signature), _message(head.node, head.counter, head.digest, head.device_id))
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def parse_heads(raw) -> list[Head]:
    if raw is None:
        return []
    try:
        if not isinstance(raw, list):
            raise ValueError
        return [Head.from_list(item) for item in raw]
    except (ValueError, TypeError) as exc:
        raise SyncError(_("The proofs of origin (signed chain heads) are malformed. Nothing was imported.")) from exc


# -- vouchers -------------------------------------------------------------------------------------

_VOUCH_TAG = b"GD-VOUCH-1\n"
HUB = "hub"  # a voucher's `by` for the office hub (signed with its certificate's key)


@dataclass(frozen=True, slots=True)
class Voucher:
    device_id: str
    sign_public: str  # base64
    name: str
    by: str  # the vouching device's id, or HUB
    signature: str  # base64

    def as_list(self) -> list:
        return [self.device_id, self.sign_public, self.name, self.by, self.signature]

    @classmethod
    def from_list(cls, item) -> Voucher:
        device_id, sign_public, name, by, signature = item
        if not all(type(v) is str for v in (device_id, sign_public, name, by, signature)):
            raise ValueError
        return cls(device_id, sign_public, name, by, signature)


def vouch_message(device_id: str, sign_public: str) -> bytes:
    return _VOUCH_TAG + f"{device_id}\n{sign_public}\n".encode()


def vouch(me, device_id: str, sign_public: str, name: str) -> Voucher:
    """This device's voucher for another device's key (me: a db.sync.identity.Identity)."""
    from db.sync.identity import b64

    return Voucher(device_id, sign_public, name or "", me.device_id,
                   b64(me.sign_private.sign(vouch_message(device_id, sign_public))))


def parse_vouchers(raw) -> list[Voucher] | None:
    """None: the sender is of a version before vouchers (keys trusted on first sight)."""
    if raw is None:
        return None
    try:
        if not isinstance(raw, list):
            raise ValueError
        return [Voucher.from_list(item) for item in raw]
    except (ValueError, TypeError) as exc:
        raise SyncError(_("The proofs of origin (vouched device keys) are malformed. Nothing was imported.")) from exc


def _ed25519_ok(key_b64: str, signature: str, message: bytes) -> bool:
    from db.sync.identity import unb64

    try:
        Ed25519PublicKey.from_public_bytes(unb64(key_b64)).verify(unb64(signature), message)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def accept_vouchers(vouchers: list[Voucher], local: Local) -> dict[str, Voucher]:
    """The vouchers that hold here (device id: voucher): by the hub (its pinned certificate), by a
    device trusted here, or by a device itself vouched for by one of those."""
    from db.sync.identity import device_id_for, unb64

    accepted: dict[str, Voucher] = {}
    todo = []
    for v in vouchers:
        try:
            if device_id_for(unb64(v.sign_public)) != v.device_id:
                continue
        except ValueError:
            continue
        todo.append(v)
    changed = True
    while changed and todo:
        changed = False
        for v in list(todo):
            if v.device_id in accepted:
                todo.remove(v)
                continue
            if v.by == HUB:
                ok = local.hub_signed(vouch_message(v.device_id, v.sign_public), v.signature)
            else:
                key = local.voucher_key(v.by) or (accepted[v.by].sign_public if v.by in accepted else None)
                ok = key is not None and _ed25519_ok(key, v.signature, vouch_message(v.device_id, v.sign_public))
            if ok:
                accepted[v.device_id] = v
                todo.remove(v)
                changed = True
    return accepted


# -- links ----------------------------------------------------------------------------------------

def parse_links(raw) -> dict[str, dict[int, bytes]]:
    """The wire form {node: [[first counter, hex of consecutive links], ...]} as {node: {counter: link}}."""
    out: dict[str, dict[int, bytes]] = {}
    if raw is None:
        return out
    try:
        if not isinstance(raw, dict):
            raise ValueError
        for node, runs in raw.items():
            if type(node) is not str or not isinstance(runs, list):
                raise ValueError
            mine = out.setdefault(node, {})
            for first, text in runs:
                if type(first) is not int or first < 1 or type(text) is not str or len(text) % 64:
                    raise ValueError
                data = bytes.fromhex(text)
                for i in range(len(data) // 32):
                    mine[first + i] = data[32 * i:32 * i + 32]
    except (ValueError, TypeError) as exc:
        raise SyncError(_("The proofs of origin (chain links) are malformed. Nothing was imported.")) from exc
    return out


def dump_links(links: dict[str, dict[int, bytes]]) -> dict[str, list]:
    """The wire form of {node: {counter: link}} (runs of consecutive counters)."""
    out: dict[str, list] = {}
    for node, by_counter in links.items():
        runs: list = []
        for counter in sorted(by_counter):
            if runs and runs[-1][0] + len(runs[-1][1]) == counter:
                runs[-1][1].append(by_counter[counter])
            else:
                runs.append([counter, [by_counter[counter]]])
        if runs:
            out[node] = [[first, b"".join(parts).hex()] for first, parts in runs]
    return out


# -- verification ---------------------------------------------------------------------------------

@dataclass
class Proof:
    """What verify found: the heads to keep, and notes about ops kept without a full proof."""

    heads: list[Head] = field(default_factory=list)
    notes: list[tuple[str, int, int, str]] = field(default_factory=list)  # node, first, last, kind
    unproven: int = 0  # ops without prev (from before chains)
    proven: int = 0
    links: dict[str, dict[int, bytes]] = field(default_factory=dict)  # the links that proved ops (kept)
    vouchers: list = field(default_factory=list)  # the vouchers that made unknown keys acceptable (kept)

    def count(self, kind: str) -> int:
        return sum(1 for n in self.notes if n[3] == kind)


@dataclass
class Local:
    """How verify reads the importer's own state (the laptop's op log, or the hub's tables)."""

    op: Callable[[str, int], tuple[bool, bytes | None, bytes | None]]  # see local_op
    heads_above: Callable[[str, int], list[tuple[int, bytes]]]  # stored heads (counter, digest) >= counter
    bound: Callable[[str], str | None]  # the device known to write under a node
    trusted_key: Callable[[str], str | None]  # a device's trusted signing key (base64), if known
    name_of: Callable[[str], str]  # a device's name for messages
    link: Callable[[str, int], bytes | None] = lambda node, counter: None  # a link kept here (not held ops)
    # A key vouched for earlier (a voucher kept here), and may this device vouch for others (its key)?
    vouched_key: Callable[[str], str | None] = lambda device_id: None
    voucher_key: Callable[[str], str | None] = lambda device_id: None  # trusted, not revoked, or me
    hub_signed: Callable[[bytes, str], bool] = lambda message, signature: False  # the pinned hub's signature


def _who(local: Local, device_id: str | None) -> str:
    from db.sync.identity import fingerprint

    if not device_id:
        return _("an unknown device")
    name = local.name_of(device_id)
    return f"“{name}” ({fingerprint(device_id)})" if name else fingerprint(device_id)


def _refuse(text: str) -> SyncError:
    return SyncError(text + " " + _("Nothing was imported: the whole batch is refused."))


def _by_node(ops: Iterable) -> dict[str, list]:
    """The ops by node, each node's in their order. They usually come node by node: each run of one
    node's ops is taken whole (C-level groupby), not op by op."""
    by_node: dict[str, list] = {}
    for node, run in groupby(ops, _NODE):
        if node in by_node:
            by_node[node].extend(run)
        else:
            by_node[node] = list(run)
    return by_node


def verify(ops: Iterable, raw_heads, local: Local, raw_links=None, raw_vouchers=None) -> Proof:
    """Check every op against its origin's chain and signed heads (across holes by the links), each
    head's key trusted or vouched for; raise SyncError (naming the device) for an altered, forged or
    unsigned op or an unvouched key. Returns the proof to keep (Proof). raw_vouchers None: a sender
    of a version before vouchers (unknown keys trusted on first sight, noted)."""
    proof = Proof()
    links = parse_links(raw_links)
    vouchers = parse_vouchers(raw_vouchers)
    accepted = accept_vouchers(vouchers, local) if vouchers else {}
    heads_by_node: dict[str, dict[int, Head]] = defaultdict(dict)
    for head in parse_heads(raw_heads):
        heads_by_node[head.node][head.counter] = head
    by_node = _by_node(ops)
    # The heads first: each signed by the device it names, that device the one known for the node.
    for node, heads in heads_by_node.items():
        known = local.bound(node)
        for head in heads.values():
            if not _valid_signature(head):
                raise _refuse(_("A proof of origin for changes of device {device} has an invalid signature: "
                                "it was forged or altered.").format(device=_who(local, head.device_id)))
            trusted = local.trusted_key(head.device_id) or local.vouched_key(head.device_id)
            if trusted is None and head.device_id in accepted:
                trusted = accepted[head.device_id].sign_public
                if trusted == head.sign_public and accepted[head.device_id] not in proof.vouchers:
                    proof.vouchers.append(accepted[head.device_id])
            if trusted is not None and trusted != head.sign_public:
                raise _refuse(_("A proof of origin names device {device} but is signed with another key: "
                                "it was forged.").format(device=_who(local, head.device_id)))
            if trusted is None:
                if vouchers is not None:
                    raise _refuse(_("Changes of device {device} are signed with a key that neither a device "
                                    "trusted here nor the office hub vouches for. Add that device's card under "
                                    "Sync and handover → This device and trusted devices, or receive its changes "
                                    "through the office hub.").format(device=_who(local, head.device_id)))
                if not any(n[0] == node and n[3] == "unvouched" for n in proof.notes):
                    proof.notes.append((node, head.counter, head.counter, "unvouched"))
            if known is not None and known != head.device_id:
                raise _refuse(_("Changes recorded under device {device} are signed by another device {other}: "
                                "they were made up by a relay.").format(device=_who(local, known),
                                                                        other=_who(local, head.device_id)))
            if known is None:
                known = head.device_id
    for node, node_ops in by_node.items():
        _verify_node(node, node_ops, heads_by_node.get(node, {}), local, proof, links.get(node))
    for heads in heads_by_node.values():
        proof.heads.extend(heads.values())
    return proof


def _verify_run(node: str, node_ops: list, heads: dict[int, Head], local: Local, proof: Proof) -> list[bytes] | None:
    """The common case in one pass: consecutive counters, all chained, links and heads right, the
    end signed or joined to the history held here. Returns the ops' digests; None: take the op-by-op
    path (it names the op)."""
    first, n = node_ops[0].counter, len(node_ops)
    if node_ops[-1].counter - first != n - 1:
        return None
    digests = linked_digests(node_ops)
    if digests is None:
        return None
    prev0 = node_ops[0].prev
    if first == 1 and prev0 != ZERO:
        return None
    last = first + n - 1
    signed_at = [c for c in heads if first <= c <= last]
    for c in signed_at:
        if heads[c].digest != digests[c - first]:
            return None
    end = max(signed_at, default=first - 1)
    if end < last:
        stored = {c: d for c, d in local.heads_above(node, end + 1) if c <= last}
        for c, d in stored.items():
            if d != digests[c - first]:
                return None
        end = max([end, *stored])
    if end < last:
        held, _d, next_prev = local.op(node, last + 1)
        if not (held and next_prev == digests[-1] and local.heads_above(node, last + 1)):
            return None  # a hole or an unsigned tail: the op-by-op path decides
    if first > 1:
        held, before, _p = local.op(node, first - 1)
        if held and before is not None and before != prev0:
            proof.notes.append((node, first - 1, first, "fork"))
    proof.proven += n
    return digests


def _verify_node(node: str, node_ops: list, heads: dict[int, Head], local: Local, proof: Proof,
                 links: dict[int, bytes] | None = None) -> bytes | None:
    """Check one node's ops (see verify); returns the chain digest of its last op (None: not chained)."""
    counters = list(map(_COUNTER, node_ops))
    if not all(map(lt, counters, counters[1:])):
        node_ops = sorted({op.counter: op for op in node_ops}.values(), key=lambda o: o.counter)
    digests = _verify_run(node, node_ops, heads, local, proof)
    if digests is not None:
        return digests[-1] if digests else None
    device = local.bound(node) or next((h.device_id for h in heads.values()), None)

    def altered(counter: int) -> SyncError:
        return _refuse(_("Change {op} of device {device} does not match that device's signed history: it was "
                         "altered or made up after the device wrote it.").format(
            op=f"{node}:{counter}", device=_who(local, device)))

    def unlinked(counter: int) -> SyncError:
        return _refuse(_("Change {op} of device {device} lies before a hole in that device's history, and the "
                         "sender gives no links that tie it to the history the device signed: it may have been "
                         "made up by a relay.").format(op=f"{node}:{counter}", device=_who(local, device)))

    def unsigned(counter: int) -> SyncError:
        return _refuse(_("Change {op} under device {device} is not signed by that device (no proof of origin "
                         "covers it): it was made up by a relay, or the sending version is too old.").format(
            op=f"{node}:{counter}", device=_who(local, device)))

    stored_cache: list[tuple[int, bytes]] | None = None

    def stored_heads() -> list[tuple[int, bytes]]:
        nonlocal stored_cache
        if stored_cache is None:
            stored_cache = local.heads_above(node, node_ops[0].counter)
        return stored_cache

    def head_digest(counter: int) -> bytes | None:
        head = heads.get(counter)
        if head is not None:
            return head.digest
        for c, d in stored_heads():
            if c == counter:
                return d
        return None

    def any_head_above(counter: int) -> int | None:
        """The lowest signed head (incoming or kept) at or above counter."""
        found = [c for c in heads if c >= counter] + [c for c, _d in stored_heads() if c >= counter]
        return min(found) if found else None

    # Segments of consecutive counters, each checked link by link.
    segment: list = []  # ops of the current segment (with prev)
    seg_digest: bytes | None = None
    pending_from: int | None = None  # first op of the segment not yet covered by a head
    last_counter = None

    def close_segment() -> None:
        nonlocal segment, pending_from
        if not segment:
            return
        end = segment[-1].counter
        if pending_from is not None:
            top = any_head_above(end + 1)
            if top is None:
                raise unsigned(pending_from)
            held, _d, next_prev = local.op(node, end + 1)
            if held and next_prev is not None:
                if next_prev != seg_digest:
                    raise altered(end)
                proof.proven += end - pending_from + 1
            else:
                # The sender does not hold the ops up to the next signed head: follow the links.
                stop = cross(end, seg_digest, top)
                if stop is None:
                    proof.proven += end - pending_from + 1
                    proof.notes.append((node, end + 1, top, "gap"))  # proven across (the hub lists it)
                elif stop > end + 1 or segment[-1].schema >= LINKED:
                    raise unlinked(end)
                else:  # from before links (an older version's history): kept, noted as a hole
                    proof.notes.append((node, end + 1, top, "hole"))
        segment, pending_from = [], None

    by_counter: dict[int, object] | None = None
    used: dict[int, bytes] = {}

    def cross(end: int, d: bytes, top: int) -> int | None:
        """Follow the chain from op `end` (digest d) across the ops not held, by their links, to the
        next signed head, a held op or a carried one: None when it fits (refused when it does not);
        else the counter whose link is missing."""
        nonlocal by_counter
        if by_counter is None:
            by_counter = {op.counter: op for op in node_ops}
        cur, n = d, end + 1
        while n <= top:
            nxt = by_counter.get(n)
            if nxt is not None:
                if nxt.prev is None:
                    return n
                if nxt.prev != cur:
                    raise altered(end)
                return None
            c = (links or {}).get(n)  # the sender's first: no look-up here per op
            if c is None:
                if n > end + 1:
                    held, _d, held_prev = local.op(node, n)
                    if held and held_prev is not None:
                        if held_prev != cur:
                            raise altered(end)
                        return None
                c = local.link(node, n)
            if c is None:
                return n
            cur = follow(cur, c)
            used[n] = c
            signed = head_digest(n)
            if signed is not None:
                if signed != cur:
                    raise altered(end)
                return None
            n += 1
        return n

    for op in node_ops:
        counter = op.counter
        if op.prev is None:
            close_segment()
            top = max([*heads, *(c for c, _d in stored_heads())], default=0)
            if counter > top and (heads or stored_heads()):
                raise unsigned(counter)
            proof.unproven += 1
            if proof.notes and proof.notes[-1][0] == node and proof.notes[-1][3] == "unproven" \
                    and proof.notes[-1][2] == counter - 1:
                proof.notes[-1] = (node, proof.notes[-1][1], counter, "unproven")
            else:
                proof.notes.append((node, counter, counter, "unproven"))
            last_counter, seg_digest = counter, None
            continue
        d = op_digest(op, op.prev)
        if segment and last_counter == counter - 1:
            if op.prev != seg_digest or op.schema < segment[-1].schema:
                raise altered(counter - 1 if op.prev != seg_digest else counter)
        else:
            close_segment()
            # The start of a segment: does it continue the history held here?
            if counter == 1:
                if op.prev != ZERO:
                    raise altered(counter)
            else:
                held, before, _p = local.op(node, counter - 1)
                if held and before is not None and before != op.prev:
                    proof.notes.append((node, counter - 1, counter, "fork"))
        segment.append(op)
        seg_digest = d
        last_counter = counter
        if pending_from is None:
            pending_from = counter
        signed = head_digest(counter)
        if signed is not None:
            if signed != d:
                raise altered(counter)
            proof.proven += counter - pending_from + 1
            pending_from = None
    close_segment()
    if used:
        proof.links.setdefault(node, {}).update(used)
    return seg_digest if node_ops[-1].prev is not None else None


# -- the laptop's side ----------------------------------------------------------------------------

def laptop_local(store, names: dict[str, str] | None = None, sender: dict[str, str] | None = None) -> Local:
    """verify's view of a laptop database (plain SQL: it runs on every import, however small).
    sender: {device id: key} of a bundle's sender, accepted by the container's check (trusted, or
    confirmed by its fingerprint): its key counts as trusted."""
    db = store.db
    mine = {store.node_id, *(store.get_meta("previous_node_ids") or "").split(",")} - {""}
    trusted = {d: (key, name) for d, key, name in db.execute_sql(
        "select device_id, sign_public, name from sync_trusted_device")}
    row = db.execute_sql("select device_id, sign_public, name from sync_device_key where current = 1").fetchone()
    me = row[0] if row else None
    if row:
        trusted[row[0]] = (row[1], row[2])
    for device_id, key in (sender or {}).items():
        trusted.setdefault(device_id, (key, (names or {}).get(device_id) or ""))
    names = dict(names or {})

    def bound(node: str) -> str | None:
        if node in mine:
            return me
        found = db.execute_sql("select device_id from sync_chain_head where node = ? limit 1", (node,)).fetchone() \
            or db.execute_sql("select device_id from sync_node_name where node = ? and device_id is not null",
                              (node,)).fetchone()
        return found[0] if found else None

    def heads_above(node: str, counter: int) -> list[tuple[int, bytes]]:
        return [(c, bytes.fromhex(d)) for c, d in db.execute_sql(
            "select counter, digest from sync_chain_head where node = ? and counter >= ? order by counter",
            (node, counter))]

    def name_of(device_id: str) -> str:
        return (trusted.get(device_id) or (None, None))[1] or names.get(device_id) or ""

    def link(node: str, counter: int) -> bytes | None:
        return _kept_link(db, node, counter)

    vouching = {d: key for d, key in db.execute_sql(
        "select device_id, sign_public from sync_trusted_device where revoked_at is null")}
    if row:
        vouching[row[0]] = row[1]
    for device_id, key in (sender or {}).items():
        vouching.setdefault(device_id, key)  # the bundle's sender vouches for the keys it relays
    revoked = {d for (d,) in db.execute_sql("select device_id from sync_trusted_device where revoked_at is not null")}

    def vouched_key(device_id: str) -> str | None:
        if device_id in revoked:
            return None
        found = db.execute_sql("select sign_public from sync_chain_voucher where device_id = ? limit 1",
                               (device_id,)).fetchone()
        return found[0] if found else None

    return Local(op=lambda node, counter: local_op(db, node, counter), heads_above=heads_above, bound=bound,
                 trusted_key=lambda device_id: (trusted.get(device_id) or (None,))[0], name_of=name_of, link=link,
                 vouched_key=vouched_key, voucher_key=lambda d: vouching.get(d) or vouched_key(d),
                 hub_signed=partial(_hub_signed, store))


def _hub_signed(store, message: bytes, signature: str) -> bool:
    """Is this signed by the key of the office hub's certificate this laptop pinned at enrolment?"""
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    row = store.db.execute_sql("select cert_pem from sync_hub where id = 1").fetchone() \
        if store.db.table_exists("sync_hub") else None
    if not row or not row[0]:
        return False
    try:
        key = x509.load_pem_x509_certificate(row[0].encode()).public_key()
        key.verify(base64.b64decode(signature), message, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def b64_key(raw: bytes) -> str:
    from db.sync.identity import b64

    return b64(raw)


def own_heads(store, ranges: dict[str, Sequence[int]]) -> list[Head]:
    """Signed heads of this device's nodes for the exported ranges: at each CHECKPOINT and the top."""
    from db.sync.identity import identity

    mine = {store.node_id, *(store.get_meta("previous_node_ids") or "").split(",")} - {""}
    me = identity(store)
    db = store.db
    out: list[Head] = []
    for node, (lo, hi) in ranges.items():
        if node not in mine:
            continue
        wanted = [c for c in range((lo // CHECKPOINT + 1) * CHECKPOINT, hi, CHECKPOINT) if c >= lo] + [hi]
        kept = {c: d for c, d in db.execute_sql(
            "select counter, digest from sync_chain_head where node = ? and counter >= ? and counter <= ?",
            (node, lo, hi))}
        for counter in wanted:
            d = tip(db, node, counter)
            if d is None:
                continue  # a history with a hole (never for an own node): nothing to sign
            if kept.get(counter) == d.hex():
                row = db.execute_sql("select device_id, sign_public, signature from sync_chain_head "
                                     "where node = ? and counter = ?", (node, counter)).fetchone()
                out.append(Head(node, counter, d, *row))
                continue
            out.append(sign_head(me, node, counter, d))
    return out


def heads_for(store, ranges: dict[str, Sequence[int]]) -> list[list]:
    """The heads to send with ops of `ranges` ({node: [lo, hi]}): own ones signed now, others as kept."""
    own = own_heads(store, ranges)
    keep_heads(store, own)
    out = [h.as_list() for h in own]
    own_nodes = {h.node for h in own}
    for node, (lo, _hi) in ranges.items():
        if node in own_nodes:
            continue
        out.extend([node, c, d, dev, key, sig] for c, d, dev, key, sig in store.db.execute_sql(
            "select counter, digest, device_id, sign_public, signature from sync_chain_head "
            "where node = ? and counter >= ? order by counter", (node, lo)))
    return out


def keep_heads(store, heads: Iterable[Head]) -> None:
    store.db.cursor().executemany(
        "insert or ignore into sync_chain_head (node, counter, digest, device_id, sign_public, signature) "
        "values (?, ?, ?, ?, ?, ?)",
        [(h.node, h.counter, h.digest.hex(), h.device_id, h.sign_public, h.signature) for h in heads])


def keep_proof(store, proof: Proof | None, *, source: str) -> None:
    """Inside the importing transaction: the verified heads, and the notes (see list_notes)."""
    if proof is None:
        return
    from db.sync.identity import now_iso

    keep_heads(store, proof.heads)
    keep_links(store, proof.links)
    keep_vouchers(store, proof.vouchers)
    at = now_iso()
    store.db.cursor().executemany(
        "insert or ignore into sync_chain_note (node, first, last, kind, source, detected_at) "
        "values (?, ?, ?, ?, ?, ?)", [(n, a, b, k, source, at) for n, a, b, k in proof.notes if k != "gap"])


def keep_vouchers(store, vouchers: Iterable[Voucher]) -> None:
    store.db.cursor().executemany(
        "insert or ignore into sync_chain_voucher (device_id, by, sign_public, name, signature) values (?, ?, ?, ?, ?)",
        [(v.device_id, v.by, v.sign_public, v.name, v.signature) for v in vouchers])


def vouchers_for(store, raw_heads: Iterable[list]) -> list[list]:
    """The vouchers to send with these heads: for each device that signed one (not this one), this
    device's own voucher (when it trusts or was given a voucher for that key) and those kept here,
    with the vouchers of the devices that gave them."""
    from db.sync.identity import identity

    me = identity(store)
    db = store.db
    local = laptop_local(store)
    wanted = {h[3]: h[4] for h in raw_heads if h[3] != me.device_id}
    out: dict[tuple[str, str], list] = {}
    seen: set[str] = set()
    todo = list(wanted)
    while todo:
        device = todo.pop()
        if device in seen or device == me.device_id:
            continue
        seen.add(device)
        key = local.voucher_key(device)
        if device in wanted and key == wanted[device]:
            name = local.name_of(device)
            out[(device, me.device_id)] = vouch(me, device, key, name).as_list()
        for d, by, key_, name, sig in db.execute_sql(
                "select device_id, by, sign_public, name, signature from sync_chain_voucher where device_id = ?",
                (device,)):
            out.setdefault((d, by), [d, key_, name or "", by, sig])
            if by != HUB:
                todo.append(by)
    return list(out.values())


def keep_links(store, links: dict[str, dict[int, bytes]]) -> None:
    """The links that proved ops across holes (one row per run): passed on when those ops are relayed."""
    rows = []
    for node, runs in dump_links({n: {c: d for c, d in by.items() if _kept_link(store.db, n, c) is None}
                                  for n, by in links.items()}).items():
        rows.extend((node, first, bytes.fromhex(text)) for first, text in runs)
    store.db.cursor().executemany("insert or replace into sync_chain_link (node, first, data) values (?, ?, ?)", rows)


def _kept_link(db, node: str, counter: int) -> bytes | None:
    for first, data in db.execute_sql("select first, data from sync_chain_link where node = ? and first <= ? "
                                      "order by first desc limit 8", (node, counter)):
        i = counter - first
        if 32 * i < len(data):
            return bytes(data[32 * i:32 * i + 32])
    return None


def links_for(store, ranges: dict[str, Sequence[int]]) -> dict[str, list]:
    """The links to send with ops of `ranges` ({node: [lo, hi]}): those kept here for ops not held,
    from the range up to the next signed head above it (the importer follows them across holes)."""
    db = store.db
    out: dict[str, dict[int, bytes]] = {}
    for node, (lo, hi) in ranges.items():
        row = db.execute_sql("select min(counter) from sync_chain_head where node = ? and counter >= ?",
                             (node, hi)).fetchone()
        upper = row[0] if row and row[0] is not None else hi
        found: dict[int, bytes] = {}
        for first, data in db.execute_sql("select first, data from sync_chain_link where node = ? and first <= ? "
                                          "and first + length(data) / 32 > ?", (node, upper, lo)):
            for i in range(len(data) // 32):
                if lo < first + i <= upper:
                    found[first + i] = bytes(data[32 * i:32 * i + 32])
        if found:
            out[node] = found
    return dump_links(out)


def list_notes(store, limit: int = 1000) -> list[dict]:
    return [{"node": r[0], "first": r[1], "last": r[2], "kind": r[3], "source": r[4], "detected_at": r[5]}
            for r in store.db.execute_sql("select node, first, last, kind, source, detected_at from sync_chain_note "
                                          "order by id limit ?", (limit,))]


def describe_note(note: dict) -> str:
    ops = f"{note['node']}:{note['first']}" + (f"–{note['last']}" if note["last"] != note["first"] else "")
    if note["kind"] == "hole":
        return _("changes {ops}: a hole in that device's history (the sender does not hold them), so the "
                 "changes before it are kept without proof of origin ({source})").format(ops=ops, source=note["source"])
    if note["kind"] == "fork":
        return _("changes {ops}: the device signed a history that differs from the one held here (a copied "
                 "database file?) ({source})").format(ops=ops, source=note["source"])
    if note["kind"] == "unvouched":
        return _("changes {ops}: signed with a key no trusted device or office hub vouched for (a bundle of an "
                 "older version: the key was trusted on first sight) ({source})").format(ops=ops,
                                                                                        source=note["source"])
    return _("changes {ops}: from before changes were signed, kept without proof of origin ({source})").format(
        ops=ops, source=note["source"])


class StreamVerifier:
    """verify() for a bundle read in batches (the import's first, bounded-memory pass).

    The bundle's ops come node by node in counter order. Each node's ops are checked up to the last
    signed head inside what was fed; the rest (at most the span between two heads: a device signs
    every CHECKPOINT ops and the top of each bundle) waits for the next batch, and finish() checks
    what is left. A checked part's last digest is the next part's link: a first op of the next part
    that does not name it is refused."""

    def __init__(self, raw_heads, local: Local, raw_links=None, raw_vouchers=None):
        self.local = local
        self.raw_heads = raw_heads
        self.links = parse_links(raw_links)
        # The heads' signatures, devices and keys, once (verify() with no ops checks exactly those).
        self.proof = verify((), raw_heads, local, None, raw_vouchers)
        self.proof.heads = []
        self.heads_by_node: dict[str, dict[int, Head]] = defaultdict(dict)
        for head in parse_heads(raw_heads):
            self.heads_by_node[head.node][head.counter] = head
        self.pending: dict[str, list] = defaultdict(list)
        self.last: dict[str, tuple[int, bytes | None]] = {}  # node: (counter, digest) of its checked part

    def _check(self, node: str, part: list) -> None:
        if not part:
            return
        known = self.last.get(node)
        if known is not None and part[0].counter == known[0] + 1 and known[1] is not None \
                and part[0].prev is not None and part[0].prev != known[1]:
            raise _refuse(_("Change {op} of device {device} does not match that device's signed history: it was "
                            "altered or made up after the device wrote it.").format(
                op=f"{node}:{part[0].counter}", device=_who(self.local, self.local.bound(node))))
        last = _verify_node(node, part, self.heads_by_node.get(node, {}), self.local, self.proof,
                            self.links.get(node))
        self.last[node] = (part[-1].counter, last)

    def feed(self, ops: Sequence) -> None:
        for node, node_ops in _by_node(ops).items():
            held = self.pending.pop(node, None)
            ops_here = held + node_ops if held else node_ops
            heads = self.heads_by_node.get(node, {})
            lo, hi = ops_here[0].counter, ops_here[-1].counter
            signed = [c for c in heads if lo <= c <= hi]
            if not signed:
                self.pending[node] = ops_here
                continue
            cut = max(signed)
            # The first op above `cut`; with consecutive counters (the usual case) it follows ops_here[cut - lo].
            at = cut - lo + 1
            if not (0 < at <= len(ops_here) and ops_here[at - 1].counter == cut
                    and (at == len(ops_here) or ops_here[at].counter > cut)
                    and max(map(_COUNTER, ops_here[:at])) == cut):
                at = next((i for i, op in enumerate(ops_here) if op.counter > cut), len(ops_here))
            split = at
            self._check(node, ops_here[:split] if split < len(ops_here) else ops_here)
            if split < len(ops_here):
                self.pending[node] = ops_here[split:]

    def finish(self) -> Proof:
        for node, rest in list(self.pending.items()):
            self._check(node, rest)
        self.pending.clear()
        for heads in self.heads_by_node.values():
            self.proof.heads.extend(heads.values())
        return self.proof
