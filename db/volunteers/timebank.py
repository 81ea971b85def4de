"""时间银行: a ledger of movements of whole minutes between accounts; balances are sums.

1 hour served = 1 hour deposited (from approved service only); withdrawn as a service received,
never as cash or goods; transferable to a spouse or a direct relative (by default only one aged 60
or more) or donated to the pool; a cap per account (above it the surplus goes to the pool). Hours earned by a
group (a team's account, credited for a service the team gave as a group) can only be donated.

Why rows and sums: every entry is one synced row written once and never edited, so two laptops'
entries merge by union and a balance is the same sum on both. A deposit's row id is derived from the
service record, so the same approval on two laptops is one deposit, not two. A transfer is one row
naming both accounts: whatever merges, it moves exactly its minutes, so hours are conserved.
What a merge can do is put two withdrawals that were each covered on their own laptop together:
`overdrafts` finds such accounts, the passbook flags them, and the account takes no withdrawal
until deposits cover it again (nothing is hidden or silently negative).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from db import oplog
from db.models.volunteers import TimeBankEntry
from db.oplog import Change
from db.validation import normalize_text
from db.volunteers.common import POOL, derived_id, fail, hours_text, now_text, setting_float
from i18n import _

# Relations to the head of household (census codes) and their generation: 0 the head's own.
_GENERATION = {"户主": 0, "配偶": 0, "子女": -1, "媳婿": -1, "父母": 1, "岳父母或公婆": 1, "祖父母": 2,
               "孙子女": -2, "兄弟姐妹": 0}
# Pairs of relations that are spouses or direct (lineal) relatives of each other.
_DIRECT = {frozenset(p) for p in (("户主", "配偶"), ("户主", "子女"), ("户主", "父母"), ("户主", "祖父母"),
                                  ("户主", "孙子女"), ("配偶", "子女"), ("子女", "孙子女"), ("父母", "祖父母"),
                                  ("配偶", "孙子女"))}


def _sum(store, column: str, account: str) -> int:
    return int(store.db.execute_sql(f"select coalesce(sum(minutes), 0) from vol_timebank where {column} = ? "
                                    f"and deleted = 0", (account,)).fetchone()[0])


def balance(store, account: str) -> int:
    """Minutes in an account (negative only after a merge of concurrent withdrawals: see overdrafts)."""
    return _sum(store, "target", account) - _sum(store, "source", account)


def balances(store) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for account, minutes in store.db.execute_sql(
            "select target, sum(minutes) from vol_timebank where deleted = 0 and target is not null group by target"):
        totals[account] += minutes
    for account, minutes in store.db.execute_sql(
            "select source, sum(minutes) from vol_timebank where deleted = 0 and source is not null group by source"):
        totals[account] -= minutes
    return dict(totals)


def overdrafts(store) -> list[tuple[str, int]]:
    """Accounts whose entries (merged from several laptops) take out more than came in."""
    return sorted((a, b) for a, b in balances(store).items() if b < 0)


def cap_minutes(store) -> int:
    return int(round(setting_float(store, "vol_bank_cap_hours") * 60))


def account_for_person(store, person_id: str) -> str:
    """A resident's account: the volunteer's when the resident is one, else the person's own."""
    row = store.db.execute_sql("select id from volunteer where person_id = ? and deleted = 0", (person_id,)).fetchone()
    return row[0] if row else person_id


def is_group(store, account: str | None) -> bool:
    """A team's account: hours the team earned as a group (only donated, never withdrawn or transferred)."""
    return bool(account) and store.db.execute_sql("select 1 from vol_team where id = ?", (account,)).fetchone() \
        is not None


def _refuse_group(store, account: str, field: str) -> None:
    if is_group(store, account):
        fail(_("Account: {name} holds hours earned by a group; they can only be donated to the pool.").format(
            name=account_name(store, account)), field)


def account_name(store, account: str) -> str:
    if account == POOL:
        return _("Time bank pool")
    team = store.db.execute_sql("select name from vol_team where id = ?", (account,)).fetchone()
    if team is not None:
        return _("{team} (group)").format(team=team[0] or account[:8])
    row = store.db.execute_sql("select coalesce(p.name, v.name) from volunteer v left join person p on "
                               "p.id = v.person_id where v.id = ?", (account,)).fetchone()
    if row is None:
        row = store.db.execute_sql("select name from person where id = ?", (account,)).fetchone()
    return (row[0] if row else None) or account[:8]


def _write(store, rows: list[dict[str, Any]]) -> list[Change]:
    at, by = now_text(), store.user
    return oplog.write(store, TimeBankEntry, [{"at": at, "by": by, **r} if "at" not in r else r for r in rows])


def deposit_services(store, items: list[tuple[str, str, int]]) -> list[Change]:
    """Deposits for approved service records (service id, volunteer id, minutes), inside the caller's
    transaction. Above the cap the surplus is donated to the pool.

    Every field of a deposit follows from its record (id, minutes, date = the sign-out), so the same
    approval made on two laptops writes the same row twice: it merges without a conflict."""
    cap = cap_minutes(store)
    running: dict[str, int] = {}
    rows = []
    existing = set()
    ids = [derived_id("deposit", sid) for sid, _v, _m in items]
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        existing.update(r[0] for r in store.db.execute_sql(
            f"select id from vol_timebank where id in ({','.join('?' * len(chunk))})", tuple(chunk)))
    signed_out: dict[str, str] = {}
    for i in range(0, len(items), 500):
        chunk = [sid for sid, _v, _m in items[i:i + 500]]
        signed_out.update(store.db.execute_sql(
            f"select id, sign_out from vol_service where id in ({','.join('?' * len(chunk))})", tuple(chunk)))
    for (sid, vid, minutes), entry_id in zip(items, ids, strict=True):
        if entry_id in existing or minutes <= 0:
            continue  # deposited already (here, or on another laptop and merged)
        if vid not in running:
            running[vid] = balance(store, vid)
        room = max(0, cap - running[vid])
        kept = min(minutes, room)
        if kept:
            rows.append({"id": entry_id, "kind": "deposit", "target": vid, "minutes": kept, "service": sid,
                         "at": signed_out.get(sid), "by": None})
            running[vid] += kept
        if minutes > kept:
            rows.append({"id": derived_id("surplus", sid), "kind": "donate", "target": POOL,
                         "minutes": minutes - kept, "service": sid, "at": signed_out.get(sid), "by": None,
                         "note": _("Above the account cap: donated to the pool")})
    return _write(store, rows) if rows else []


def adjust_for_correction(store, *, service_id: str, volunteer_id: str, delta: int, correction_id: str,
                          reason: str) -> list[Change]:
    """A corrected approved record: the difference is deposited or taken back (a new entry)."""
    entry_id = derived_id("adjust", correction_id)
    note = _("Correction: {reason}").format(reason=reason)
    if delta > 0:
        row = {"id": entry_id, "kind": "deposit", "target": volunteer_id, "minutes": delta}
    else:
        row = {"id": entry_id, "kind": "withdraw", "source": volunteer_id, "minutes": -delta}
    return _write(store, [{**row, "service": service_id, "note": note}])


def deposit_group_service(store, *, team_id: str, activity_id: str, minutes: int,
                          note: str | None = None) -> list[Change]:
    """Hours a team earned as a group for one activity of its own, deposited in the team's account.

    One deposit per activity (its row id is derived from the activity, so the same deposit made on two
    laptops merges into one). Above the cap the surplus goes to the pool. These hours can only be donated."""
    minutes = _minutes(minutes, "minutes")
    db = store.db
    if db.execute_sql("select 1 from vol_team where id = ? and deleted = 0", (team_id,)).fetchone() is None:
        fail(_("Team: it is not in this database."), "team_id")
    act = db.execute_sql("select team_id, title, end from vol_activity where id = ? and deleted = 0",
                         (activity_id,)).fetchone()
    if act is None:
        fail(_("Activity: it is not in this database."), "activity_id")
    if act[0] != team_id:
        fail(_("Activity: “{title}” is not an activity of this team.").format(title=act[1]), "activity_id")
    entry_id = derived_id("group", activity_id)
    if db.execute_sql("select 1 from vol_timebank where id in (?, ?)",
                      (entry_id, derived_id("group-surplus", activity_id))).fetchone():
        fail(_("Activity: the group's hours for “{title}” are deposited already.").format(title=act[1]),
             "activity_id")
    text = normalize_text(note) or _("Group service: {title}").format(title=act[1])
    with db.atomic():
        kept = min(minutes, max(0, cap_minutes(store) - balance(store, team_id)))
        rows = []
        if kept:
            rows.append({"id": entry_id, "kind": "deposit", "target": team_id, "minutes": kept, "at": act[2],
                         "by": store.user, "note": text})
        if minutes > kept:
            rows.append({"id": derived_id("group-surplus", activity_id), "kind": "donate", "target": POOL,
                         "minutes": minutes - kept, "at": act[2],
                         "by": store.user, "note": _("Above the account cap: donated to the pool")})
        return _write(store, rows)


def _minutes(value, field: str) -> int:
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        fail(_("Hours: “{value}” is not a number.").format(value=value), field)
    if minutes <= 0:
        fail(_("Hours: they must be more than 0."), field)
    return minutes


def _check_cover(store, account: str, minutes: int, field: str) -> None:
    have = balance(store, account)
    if have < 0:
        fail(_("Hours: this account is overdrawn by {hours} h after a merge of two computers' entries; "
               "it takes no withdrawal until deposits cover it.").format(hours=hours_text(-have)), field)
    if minutes > have:
        fail(_("Hours: {wanted} h is more than the balance of {balance} h.").format(
            wanted=hours_text(minutes), balance=hours_text(have)), field)


def withdraw(store, *, account: str, minutes: int, note: str | None = None) -> list[Change]:
    """A service received, paid from an account (whole minutes)."""
    minutes = _minutes(minutes, "minutes")
    _refuse_group(store, account, "account")
    with store.db.atomic():
        _check_cover(store, account, minutes, "minutes")
        return _write(store, [{"kind": "withdraw", "source": account, "minutes": minutes,
                               "note": normalize_text(note) or None}])


def donate(store, *, account: str, minutes: int, note: str | None = None) -> list[Change]:
    minutes = _minutes(minutes, "minutes")
    if account == POOL:
        fail(_("Account: the pool cannot donate to itself."), "account")
    with store.db.atomic():
        _check_cover(store, account, minutes, "minutes")
        return _write(store, [{"kind": "donate", "source": account, "target": POOL, "minutes": minutes,
                               "note": normalize_text(note) or None}])


@dataclass
class Relative:
    person_id: str
    name: str
    relation: str  # the relation to the head of household of the recipient
    age: int | None
    eligible: bool
    reason: str


def _age(birth: str | None, on: dt.date) -> int | None:
    if not birth:
        return None
    b = dt.date.fromisoformat(birth)
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def relatives(store, volunteer_id: str, *, on: dt.date | None = None) -> list[Relative]:
    """Household members of a volunteer who lives here, and whether a transfer to each is allowed."""
    on = on or dt.date.today()
    db = store.db
    row = db.execute_sql("select person_id from volunteer where id = ?", (volunteer_id,)).fetchone()
    if not row or not row[0]:
        return []
    person_id = row[0]
    min_age = int(setting_float(store, "vol_transfer_min_age"))
    found = []
    for household_id, own in db.execute_sql(
            "select household_id, relation from membership where person_id = ? and deleted = 0 and until is null",
            (person_id,)).fetchall():
        for pid, name, relation, birth in db.execute_sql(
                "select p.id, p.name, m.relation, p.birth_date from membership m join person p on p.id = m.person_id "
                "where m.household_id = ? and m.deleted = 0 and m.until is null and p.deleted = 0 and p.id != ? "
                "and p.death_date is null", (household_id, person_id)):
            age = _age(birth, on)
            direct = frozenset((own or "", relation or "")) in _DIRECT
            if not direct:
                reason = _("not a spouse or direct relative")
            elif age is None or age < min_age:
                reason = _("younger than {age}").format(age=min_age)
            else:
                reason = ""
            found.append(Relative(pid, name or "", relation or "", age, not reason, reason))
    return found


def transfer(store, *, source: str, person_id: str, minutes: int, note: str | None = None,
             on: dt.date | None = None) -> list[Change]:
    """Give minutes to a spouse or direct relative (of the scheme's age) living in the same household."""
    minutes = _minutes(minutes, "minutes")
    _refuse_group(store, source, "source")
    candidates = {r.person_id: r for r in relatives(store, source, on=on)}
    found = candidates.get(person_id)
    if found is None or not found.eligible:
        name = found.name if found else account_name(store, person_id)
        why = found.reason if found else _("not in the volunteer's household")
        fail(_("Recipient: {name} cannot receive a transfer ({why}).").format(name=name, why=why), "person_id")
    target = account_for_person(store, person_id)
    if target == source:
        fail(_("Recipient: an account cannot transfer to itself."), "person_id")
    with store.db.atomic():
        _check_cover(store, source, minutes, "minutes")
        if balance(store, target) + minutes > cap_minutes(store):
            fail(_("Hours: the recipient's account would go above the cap of {cap} h.").format(
                cap=hours_text(cap_minutes(store))), "minutes")
        return _write(store, [{"kind": "transfer", "source": source, "target": target, "minutes": minutes,
                               "note": normalize_text(note) or None}])


def passbook(store, account: str) -> list[dict[str, Any]]:
    """The account's entries oldest first with the running balance (存折)."""
    rows = store.db.execute_sql(
        "select id, kind, source, target, minutes, note, at, by, service from vol_timebank "
        "where deleted = 0 and (source = ? or target = ?) order by at, id", (account, account)).fetchall()
    out, running = [], 0
    for entry_id, kind, source, target, minutes, note, at, by, service in rows:
        signed = minutes if target == account else -minutes
        running += signed
        other = source if target == account else target
        out.append({"id": entry_id, "kind": kind, "minutes": signed, "balance": running, "note": note, "at": at,
                    "by": by, "service": service, "other": account_name(store, other) if other else ""})
    return out


def account_overview(store, account: str) -> dict[str, Any]:
    """What the passbook screen shows of one account, read at once: name, balance, whether it is a
    team's (group hours: donate only), its entries with the running balance, relatives for a transfer."""
    group = is_group(store, account)
    return {"account": account, "name": account_name(store, account), "balance": balance(store, account),
            "group": group, "entries": passbook(store, account),
            "relatives": [] if group or account == POOL else relatives(store, account)}


def team_accounts(store) -> list[dict[str, Any]]:
    """Every team with the balance of its group account (hours earned as a group)."""
    totals = balances(store)
    return [{"id": tid, "name": name, "balance": totals.get(tid, 0)} for tid, name in store.db.execute_sql(
        "select id, name from vol_team where deleted = 0 order by name")]
