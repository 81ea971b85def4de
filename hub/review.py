"""The office's review queue at the hub: what the hub holds for a person to decide.

- "left_scope": an edit a laptop sent for a record that had already left its grids (hub_review).
  It was stored and merged like any change (never dropped); the office keeps it, or undoes it
  with a change of its own that supersedes it (made on the office's computer, pushed, then the
  item is closed here once the hub holds that change).
- "fault": an op id that arrived with other content than the one stored (hub_fault): kept for
  ever; the office marks it as seen (hub_meta "fault_seen:<op id>") after looking into it.
- "conflict": rows whose merged fields have several live values (hub_row.conflicts): decided by
  a resolution op from the office's computer (its Conflicts tab), never at the hub itself.

Only the office's administrator computer (role admin, all grids) reads or decides the queue. Each decision is
one write transaction.
"""

from __future__ import annotations

import orjson

from hub import scope as sc
from hub.service import Device, HubError, HubService, now_ms
from i18n import _

LIMIT = 500
KEEP, UNDO, SEEN = "keep", "undo", "seen"


def _require_admin(device: Device) -> None:
    if device.effective_role != sc.ROLE_ADMIN or device.grids is not None:
        raise HubError(_("Only the office's administrator computer may see and decide the review queue."), 403)


def _field_names(text: str | None) -> list[str]:
    try:
        values = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError:
        return []
    if not isinstance(values, dict):
        return []
    # Every edit names deleted = 0 (see db.oplog.write): only a deletion is worth showing.
    return sorted(k for k, v in values.items() if k != "id" and (k != "deleted" or v))


def _differing(sent_text: str | None, stored_text: str | None) -> list[str]:
    """The fields whose values differ between a faulty copy and the stored op (all, if unreadable)."""
    try:
        sent = orjson.loads(sent_text) if sent_text else {}
        stored = orjson.loads(stored_text) if stored_text else {}
    except orjson.JSONDecodeError:
        return []
    if not isinstance(sent, dict) or not isinstance(stored, dict):
        return []
    return sorted(k for k in set(sent) | set(stored) if k != "id" and sent.get(k) != stored.get(k))


def queue(service: HubService, device: Device, *, limit: int = LIMIT) -> dict:
    """The open items, oldest first per kind, and how many there are in all."""
    _require_admin(device)
    s = service.storage
    with s.read() as conn:
        meta = s.meta(conn)
        names = dict(s.fetchall(conn, "select device_id, name from hub_device"))
        grid_names = {r: g for r, g in s.fetchall(conn, "select row_id, g from hub_row where tbl = 'grid'")}
        review = s.fetchall(
            conn, "select r.device_id, r.tbl, r.row_id, r.node, r.counter, r.at, r.reason, o.fields, o.usr, h.scope "
                  "from hub_review r left join hub_op o on o.node = r.node and o.counter = r.counter "
                  "left join hub_row h on h.tbl = r.tbl and h.row_id = r.row_id order by r.at, r.node, r.counter "
                  "limit ?", (limit,))
        n_review = int(s.fetchone(conn, "select count(*) from hub_review")[0])
        faults = s.fetchall(
            conn, "select f.node, f.counter, f.content, f.device, f.at, o.fields, o.tbl, o.row_id, o.device "
                  "from hub_fault f left join hub_op o on o.node = f.node and o.counter = f.counter "
                  "order by f.at, f.node, f.counter")
        conflicts = s.fetchall(conn, "select tbl, row_id, scope, conflicts from hub_row where conflicts > 0 "
                                     "order by tbl, row_id limit ?", (limit,))
        n_conflicts = int(s.fetchone(conn, "select count(*) from hub_row where conflicts > 0")[0])

    def grids(text: str | None) -> list[str]:
        return sorted(str(grid_names.get(g) or g[:8]) for g in sc.parse(text))

    items: list[dict] = []
    for device_id, tbl, row_id, node, counter, at, reason, fields, user, scope_text in review:
        items.append({"kind": "left_scope", "key": f"{node}:{counter}", "tbl": tbl, "row_id": row_id,
                      "device": device_id, "device_name": names.get(device_id) or "", "at": at, "user": user,
                      "fields": _field_names(fields), "grids": grids(scope_text), "reason": reason})
    seen_faults: set[str] = set()
    n_faults = 0
    for node, counter, content, by, at, stored, tbl, row_id, stored_by in faults:
        key = f"{node}:{counter}"
        if key in seen_faults or meta.get(f"fault_seen:{key}"):
            continue
        seen_faults.add(key)
        n_faults += 1
        if n_faults > limit:
            continue
        try:
            sent = orjson.loads(content)
        except orjson.JSONDecodeError:
            sent = []
        sent_fields = _differing(sent[4] if isinstance(sent, list) and len(sent) > 4 else None, stored)
        items.append({"kind": "fault", "key": key, "tbl": tbl or (sent[2] if len(sent) > 2 else ""),
                      "row_id": row_id or (sent[3] if len(sent) > 3 else ""), "device": by,
                      "device_name": names.get(by) or "", "at": at, "user": None,
                      "fields": sent_fields, "grids": [],
                      "stored_by": names.get(stored_by) or stored_by or ""})
    for tbl, row_id, scope_text, n in conflicts:
        items.append({"kind": "conflict", "key": f"{tbl}:{row_id}", "tbl": tbl, "row_id": row_id, "device": None,
                      "device_name": "", "at": None, "user": None, "fields": [], "grids": grids(scope_text),
                      "conflicts": int(n)})
    return {"items": items, "counts": {"left_scope": n_review, "fault": n_faults, "conflict": n_conflicts}}


def decide(service: HubService, device: Device, *, kind: str, key: str, decision: str) -> dict:
    """Close one item of the queue (one write transaction); refused with a clear message otherwise."""
    _require_admin(device)
    node, _sep, counter_text = (key or "").rpartition(":")
    if kind in ("left_scope", "fault") and (not node or not counter_text.isdigit()):
        raise HubError(_("The review item “{key}” is not valid.").format(key=key), 400)
    s = service.storage
    with s.write() as conn:
        if kind == "left_scope":
            row = s.fetchone(conn, "select tbl, row_id from hub_review where node = ? and counter = ?",
                             (node, int(counter_text)))
            if row is None:
                raise HubError(_("This item was decided already (or does not exist)."), 404)
            if decision == UNDO:
                # The undo is the office's own change superseding the reviewed one: it must be here.
                op_text = f'"{node}:{counter_text}"'
                later = s.fetchall(conn, "select supersedes from hub_op where tbl = ? and row_id = ?", row)
                if not any(op_text in text for (text,) in later):
                    raise HubError(_("The undoing change has not reached the hub yet; sync and try again."), 409)
            elif decision != KEEP:
                raise HubError(_("Unknown decision “{decision}”.").format(decision=decision), 400)
            s.execute(conn, "delete from hub_review where node = ? and counter = ?", (node, int(counter_text)))
        elif kind == "fault":
            if decision != SEEN:
                raise HubError(_("Unknown decision “{decision}”.").format(decision=decision), 400)
            if s.fetchone(conn, "select 1 from hub_fault where node = ? and counter = ?",
                          (node, int(counter_text))) is None:
                raise HubError(_("This item was decided already (or does not exist)."), 404)
            s.set_meta(conn, **{f"fault_seen:{key}": f"{device.device_id}:{now_ms()}"})
        elif kind == "conflict":
            raise HubError(_("A conflict is decided by choosing a value on the office's computer (Conflicts tab), "
                             "then syncing."), 400)
        else:
            raise HubError(_("Unknown kind of review item “{kind}”.").format(kind=kind), 400)
    return {"decided": key, "decision": decision}
