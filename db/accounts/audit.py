"""The audit trail: who saw, printed, exported, exchanged or changed what, and when.

Sensitive views and actions are AuditEntry rows (a synced table: they travel to the office in
every exchange, through the op log, append-only: db/oplog.py refuses to change an existing one).
Changes need no entry of their own: every op carries its user and time. `search` merges both,
plus this laptop's exchange history, by person, user, action and date.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from db import opfields, oplog, opstore
from db.models.register import AuditEntry
from i18n import N_, _

ACTION_LABELS = {
    "reveal": N_("Showed a number in full"),
    "print_unmasked": N_("Printed unmasked"),
    "export": N_("Exported (masked)"),
    "export_unmasked": N_("Exported unmasked"),
    "login": N_("Logged in"),
    "unlock": N_("Unlocked the screen"),
    "login_failed": N_("Failed login"),
    "accounts_created": N_("Accounts created, database encrypted"),
    "user_added": N_("Account added"),
    "user_changed": N_("Account role changed"),
    "user_removed": N_("Account removed"),
    "password_changed": N_("Password changed"),
    "password_reset": N_("Password reset"),
    "recovered": N_("Opened with the recovery key"),
    "change": N_("Changed"),
    "exchange": N_("Exchange"),
    "redact": N_("Personal data erased"),
    "hub_review": N_("Decided an item of the office hub's review queue"),
}


TABLE_LABELS = {"person": N_("Person"), "household": N_("Household"), "membership": N_("Household member"),
                "visit": N_("Home visit"), "person_tag": N_("Special group"), "tag": N_("Tag"), "grid": N_("Grid"),
                "compound": N_("Compound"), "building": N_("Building"), "unit": N_("Unit"),
                "life_event": N_("Life event")}
FIELD_LABELS = {"id_number": N_("ID number"), "phone": N_("Telephone"), "owner_phone": N_("Owner's telephone")}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def record(store, *, action: str, target_table: str | None = None, target_id: str | None = None,
           detail: str = "", at: str | None = None, user: str | None = None) -> list[oplog.Change]:
    who = user or store.user
    with store.db.atomic():
        return oplog.write(store, AuditEntry, [{"at": at or now_iso(), "user": who, "action": action,
                                                "target_table": target_table, "target_id": target_id,
                                                "detail": detail}], user=who)


def record_logins(store, *, login: str, failed: list[dict], action: str = "login") -> None:
    """The failed attempts kept in the key file while the database was locked, then this login."""
    rows = [{"at": f["at"], "user": f.get("login") or "?", "action": "login_failed", "target_table": None,
             "target_id": None, "detail": ""} for f in failed]
    rows.append({"at": now_iso(), "user": login, "action": action, "target_table": None, "target_id": None,
                 "detail": ""})
    with store.db.atomic():
        oplog.write(store, AuditEntry, rows, user=login)


def _accounts_on(store) -> bool:
    return getattr(store, "session", None) is not None or getattr(store, "key", None) is not None


def record_exchange(store, *, bundle_id: str, direction: str, kind: str, peer_name: str | None = None,
                    ops: int = 0, file_name: str | None = None, **_other) -> None:
    """An exchange (bundle, receipt, office sync) as a synced audit entry, so the trail of every
    laptop reaches the office. Only in a database with accounts (without them there is no trail to
    keep; the exchange history, sync_exchange, is kept as before)."""
    if not _accounts_on(store):
        return
    detail = f"{direction} {kind} {peer_name or ''} {ops} {file_name or ''}".strip()
    record(store, action="exchange", target_table="exchange", target_id=bundle_id, detail=detail)


def refuse_audit_edits(store, ops) -> None:
    """Incoming ops may add audit entries, never change one: an op on an audit entry that supersedes
    something, is not a plain creation, or meets an entry already here under another op is refused
    (the whole bundle) with a message. The app itself cannot change one (db/oplog.py)."""
    from db.sync.errors import SyncError

    audit_ops = [op for op in ops if op.tbl == "audit_entry"]
    if not audit_ops:
        return
    bad = next((op for op in audit_ops if op.supersedes or op.kind != "edit"), None)
    if bad is None:
        mine = {(op.node, op.counter) for op in audit_ops}
        ids = sorted({op.row_id for op in audit_ops})
        for chunk in oplog.chunks(ids):
            marks = ",".join("?" * len(chunk))
            for node, counter, row_id in store.db.execute_sql(
                    f"select node, counter, row_id from oplog where tbl = 'audit_entry' and rid in ({marks})",
                    tuple(map(opstore.rid, chunk))):
                if (node, counter) not in mine:
                    bad = next(op for op in audit_ops if op.row_id == row_id and (op.node, op.counter) != (node, counter))
                    break
            if bad is not None:
                break
        if bad is None and len(ids) != len(audit_ops):
            seen: set[str] = set()
            for op in audit_ops:
                if op.row_id in seen:
                    bad = op
                    break
                seen.add(op.row_id)
    if bad is not None:
        raise SyncError(_("The bundle changes an audit entry ({op}); the audit trail can only grow. Nothing was "
                          "imported.").format(op=f"{bad.node}:{bad.counter}"))


@dataclass
class AuditRow:
    at: str  # ISO date-time
    user: str
    action: str
    target_table: str | None
    target_id: str | None
    detail: str
    source: str  # audit | oplog | exchange
    target_name: str = ""  # the person's name or the household's address, for people reading the trail

    def action_label(self) -> str:
        return _(ACTION_LABELS.get(self.action, self.action))

    def record_label(self) -> str:
        if not self.target_table and not self.target_id:
            return ""
        table = _(TABLE_LABELS[self.target_table]) if self.target_table in TABLE_LABELS else (self.target_table or "")
        return f"{table} {self.target_name or (self.target_id or '')[-8:]}".strip()

    def detail_label(self) -> str:
        if self.source == "audit" and self.action == "reveal":
            field, _sep, reason = self.detail.partition(": ")
            label = _(FIELD_LABELS[field]) if field in FIELD_LABELS else field
            return f"{label}: {reason}" if reason else label
        return self.detail


def _hlc_iso(hlc: str) -> str:
    try:
        ms = int(hlc.split("-", 1)[0])
    except (ValueError, AttributeError):
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).astimezone().isoformat(timespec="seconds")



def _where(base: str, *conditions: tuple[str, object]) -> tuple[str, list]:
    """A WHERE clause of `base` and each (sql, value) whose value is given, with its parameters."""
    where, params = [base], []
    for sql, value in conditions:
        if value:
            where.append(sql)
            params.append(value)
    return " and ".join(where), params

def _iso_to_hlc(day: str, end: bool = False) -> str:
    when = dt.datetime.fromisoformat(day)
    if end and len(day) <= 10:
        when += dt.timedelta(days=1)
    return f"{int(when.astimezone(dt.UTC).timestamp() * 1000):016d}"


def person_targets(store, person: str) -> tuple[set[str], set[str]]:
    """Person ids whose name or id is `person`, and the row ids that belong to them (their
    memberships, households, tags and visits), for searching the trail by person."""
    rows = store.db.execute_sql("select id from person where id = ? or name = ? or id_number = ?",
                                (person, person, person)).fetchall()
    ids = {r[0] for r in rows}
    related = set(ids)
    for pid in ids:
        for sql in ("select id from membership where person_id = ?", "select household_id from membership "
                    "where person_id = ?", "select id from person_tag where person_id = ?"):
            related.update(r[0] for r in store.db.execute_sql(sql, (pid,)) if r[0])
    return ids, related


def search(store, *, person: str | None = None, user: str | None = None, action: str | None = None,
           date_from: str | None = None, date_to: str | None = None, changes: bool = True,
           limit: int = 2000) -> list[AuditRow]:
    """The trail, newest first. person: a name, ID number or person id; dates: YYYY-MM-DD.
    Only a community administrator (or anyone, in a database without accounts) may read it."""
    from db.accounts.session import require_admin

    require_admin(store)
    out: list[AuditRow] = []
    related: set[str] | None = None
    if person:
        _ids, related = person_targets(store, person.strip())
        if not related:
            return []
    related_json = json.dumps(sorted(related)) if related is not None else None
    where, params = _where("deleted = 0", ("user = ?", user), ("action = ?", action),
                           ("substr(at, 1, 10) >= ?", date_from), ("substr(at, 1, 10) <= ?", date_to),
                           ("target_id in (select value from json_each(?))", related_json))
    sql = ("select at, user, action, target_table, target_id, detail from audit_entry where "
           + where + " order by at desc limit ?")
    for r in store.db.execute_sql(sql, (*params, limit)):
        out.append(AuditRow(r[0] or "", r[1] or "", r[2] or "", r[3], r[4], r[5] or "", "audit"))
    if changes and action in (None, "change"):
        where, params = _where("tbl != 'audit_entry'", ("user = ?", user),
                               ("hlc >= ?", _iso_to_hlc(date_from) if date_from else None),
                               ("hlc < ?", _iso_to_hlc(date_to, end=True) if date_to else None),
                               # By the stored row id (db/opstore.py), converted in SQL like the log's.
                               ("rid in (select " + opstore.RID_SQL.format(x="value") + " from json_each(?))",
                                related_json))
        sql = ("select hlc, user, tbl, row_id, fields, kind from oplog where " + where
               + " order by hlc desc limit ?")
        for hlc, who, tbl, row_id, fields, kind in store.db.execute_sql(sql, (*params, limit)):
            try:
                names = ", ".join(sorted(opfields.loads(store.db, fields)))
            except ValueError:
                names = ""
            out.append(AuditRow(_hlc_iso(hlc), who or "", "change" if kind == "edit" else kind, tbl, row_id,
                                names, "oplog"))
    if related is None and action in (None, "exchange"):
        where, params = _where("1", ("user = ?", user), ("substr(at, 1, 10) >= ?", date_from),
                               ("substr(at, 1, 10) <= ?", date_to))
        # Exchanges recorded as audit entries (with accounts) are listed once, from the entry.
        where += " and bundle_id not in (select target_id from audit_entry where action = 'exchange' " \
                 "and target_id is not null)"
        sql = ("select at, user, direction, kind, peer_name, ops, file_name from sync_exchange where "
               + where + " order by id desc limit ?")
        for at, who, direction, kind, peer, ops, name in store.db.execute_sql(sql, (*params, limit)):
            out.append(AuditRow(at or "", who or "", "exchange", None, None,
                                f"{direction} {kind} {peer or ''} {ops} {name or ''}".strip(), "exchange"))
    out.sort(key=lambda r: r.at, reverse=True)
    out = out[:limit]
    _name_targets(store, out)
    return out


def _name_targets(store, rows: list[AuditRow]) -> None:
    """Fill in who or where each entry is about (persons by name, households by address)."""
    sql = {"person": "select id, name from person where id in (select value from json_each(?))",
           "household": "select id, coalesce(address, number) from household where id in (select value from json_each(?))",
           "membership": "select m.id, p.name from membership m join person p on p.id = m.person_id "
                         "where m.id in (select value from json_each(?))",
           "person_tag": "select t.id, p.name from person_tag t join person p on p.id = t.person_id "
                         "where t.id in (select value from json_each(?))"}
    for table, query in sql.items():
        ids = sorted({r.target_id for r in rows if r.target_table == table and r.target_id})
        if not ids:
            continue
        names = dict(store.db.execute_sql(query, (json.dumps(ids),)).fetchall())
        for r in rows:
            if r.target_table == table and r.target_id in names:
                r.target_name = names[r.target_id] or ""


def as_dicts(rows: list[AuditRow]) -> list[dict[str, Any]]:
    return [{"at": r.at, "user": r.user, "action": r.action, "label": r.action_label(),
             "table": r.target_table, "target": r.target_id, "target_name": r.target_name,
             "record": r.record_label(), "detail": r.detail, "source": r.source} for r in rows]
