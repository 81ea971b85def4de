"""What each peer is believed to hold, and the check that a bundle leaves no hole.

The sync invariants (DESIGN.md "Sync invariants") in functions any transport can call (USB
bundles in db/sync/exchange.py, the office hub's client later):

- A peer's belief is what it last said it holds. A receipt, or the vector in a bundle the peer
  sent, *replaces* the stored belief (`replace_belief`); it is never only raised. A database that
  was restored from a backup or rolled back by a crash says less than before, and so the next
  ordinary bundle for it carries again what it lost.
- A bundle states what it assumes the receiver holds (its manifest's `since`). A receiver that
  holds less of some node (`find_gaps`) applies nothing of it (`check_no_gaps` raises GapError,
  saying in Chinese what is missing, from whom, and what to do).

Holdings are read with one index probe per node (the highest counter present), not with
db.oplog.version_vector, which reads the whole log (0.2 s at 50,000 households).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from db.sync.identity import SyncError, fingerprint, now_iso
from i18n import _


def stored_belief(store, device_id: str) -> dict[str, int]:
    """The vector `device_id` last said it holds ({} when it never said)."""
    from db.models.sync import PeerAck

    with store.activated():
        row = PeerAck.get_or_none(PeerAck.device_id == device_id)
    return {n: int(c) for n, c in json.loads(row.vector).items()} if row else {}


def replace_belief(store, device_id: str, vector: dict[str, int]) -> dict[str, int]:
    """What the peer says it holds now replaces what we believed (even when it is less).

    Returns the previous belief (for a caller that wants to say what the peer lost)."""
    from db.models.sync import PeerAck

    previous = stored_belief(store, device_id)
    clean = {str(n): int(c) for n, c in (vector or {}).items() if int(c) > 0}
    text = json.dumps(clean, sort_keys=True)
    with store.activated():
        PeerAck.insert(device_id=device_id, vector=text, updated_at=now_iso()).on_conflict(
            conflict_target=[PeerAck.device_id],
            update={PeerAck.vector: text, PeerAck.updated_at: now_iso()}).execute()
    return previous


def confirmed_elsewhere(store) -> dict[str, int]:
    """Per node, the highest counter another computer (its receipts and bundles) or the office hub
    (its acknowledgements) said it holds: changes above it may exist only in this file."""
    from db.models.sync import PeerAck

    best: dict[str, int] = {}
    with store.activated():
        vectors = [row.vector for row in PeerAck.select(PeerAck.vector)]
    hub = store.db.execute_sql("select acked from sync_hub where id = 1").fetchone()
    if hub and hub[0]:
        vectors.append(hub[0])
    for text in vectors:
        for node, counter in json.loads(text).items():
            best[node] = max(best.get(node, 0), int(counter))
    return best


def only_here_since(store, since_ms: int) -> int:
    """This computer's own changes stamped at or after since_ms (milliseconds since the epoch)
    that no other computer and no hub has confirmed holding: a restore of a backup from before
    since_ms leaves them only in the safety copy."""
    confirmed = confirmed_elsewhere(store)
    total = 0
    for node in store.own_nodes():
        total += store.db.execute_sql(
            "select count(*) from oplog where node = ? and counter > ? and hlc >= ?",
            (node, confirmed.get(node, 0), f"{max(0, since_ms):016d}")).fetchone()[0]
    return total


def lost_by_peer(previous: dict[str, int], now: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Per node, (what the peer now holds, what it held before) where it now says less."""
    return {n: (now.get(n, 0), c) for n, c in previous.items() if now.get(n, 0) < c}


def held_counters(db, nodes) -> dict[str, int]:
    """Per node, the highest op counter this database holds (0: none). One index probe each."""
    held = {}
    for node in nodes:
        row = db.execute_sql("select max(counter) from oplog where node = ?", (node,)).fetchone()
        held[node] = int(row[0] or 0)
    return held


def find_gaps(db, assumed: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Per node, (held here, assumed by the bundle) where this database holds less than assumed."""
    assumed = {n: int(c) for n, c in (assumed or {}).items() if int(c) > 0}
    held = held_counters(db, assumed)
    return {n: (held[n], c) for n, c in assumed.items() if held[n] < c}


@dataclass
class Gap:
    node: str
    held: int
    assumed: int
    device_id: str | None
    device_name: str | None

    @property
    def missing(self) -> int:
        return self.assumed - self.held


class GapError(SyncError):
    """The bundle assumes the receiver holds changes it does not hold: nothing of it was applied."""

    def __init__(self, message: str, gaps: list[Gap], sender_id: str, sender_name: str):
        super().__init__(message)
        self.gaps = gaps
        self.sender_id = sender_id
        self.sender_name = sender_name


def describe_gaps(store, gaps: dict[str, tuple[int, int]], names: dict[str, tuple]) -> list[Gap]:
    """The gaps with the device that wrote each node (names: node -> (device id, device name))."""
    out = []
    for node, (held, assumed) in sorted(gaps.items()):
        device_id, name = names.get(node, (None, None))
        out.append(Gap(node, held, assumed, device_id, name))
    return out


def gap_error(gaps: list[Gap], *, sender_id: str, sender_name: str, my_device_id: str | None) -> GapError:
    """The message for a bundle with a hole: what is missing, from whom, and what to do."""
    parts = []
    for g in gaps:
        if g.device_id and g.device_id == my_device_id:
            who = _("this device (an earlier state of this database)")
        elif g.device_name or g.device_id:
            who = _("“{name}” ({fp})").format(name=g.device_name or "?", fp=fingerprint(g.device_id or "")[:9])
        else:
            who = _("an unknown device (node {node})").format(node=g.node[:8])
        parts.append(_("{n} change(s) written by {who} (numbers {first} to {last})").format(
            n=g.missing, who=who, first=g.held + 1, last=g.assumed))
    message = _(
        "This bundle from “{sender}” assumes that this database already holds changes it does not hold: "
        "{missing}. This happens after restoring a backup or after a crash. Nothing was imported, so nothing "
        "is left with a hole. What to do: write a receipt for “{sender}” (it says what this database holds "
        "now) and give it to them; their next ordinary bundle then brings the missing changes as well. Or ask "
        "“{sender}” for a full handover bundle.").format(sender=sender_name, missing="；".join(parts))
    return GapError(message, gaps, sender_id, sender_name)


def check_no_gaps(store, manifest: dict, names: dict[str, tuple], *, my_device_id: str | None) -> None:
    """Raise GapError when the bundle's `since` assumes more than this database holds."""
    found = find_gaps(store.db, manifest.get("since") or {})
    if not found:
        return
    sender = manifest.get("sender") or {}
    raise gap_error(describe_gaps(store, found, names), sender_id=sender.get("device_id") or "",
                    sender_name=sender.get("name") or fingerprint(sender.get("device_id") or ""),
                    my_device_id=my_device_id)
