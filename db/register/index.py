"""The local search index of the register (register_search + register_fts), kept by row hooks.

Each live person has one row with what the register list shows and filters on, and a lower-case
haystack: name | full pinyin | initials | former name | ID number | phone | address. The FTS5
trigram table indexes the haystack for terms of 3+ characters; shorter terms (zs, 张三) are
matched with instr() on the narrow local table. The index follows local writes, merges and
rebuilds through db.oplog.add_row_hook (installed per Store by install_hooks) and is never synced.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

from pypinyin import Style, pinyin

from db import oplog
from db.oplog import chunks
from db.register import postings
from db.register.common import RELATIONS, today
from db.register.visits import compute_due

SEP = "\x1f"
SENSITIVE = "*"  # stands for a sensitive tag in the list's tag text
_RELATION_ORDER = {r: i for i, r in enumerate(RELATIONS)}
_DIGITS = re.compile(r"\d+")
_pending: list[set[str] | None] = []  # person ids to refresh while hooks are deferred; None: all
BULK_REFRESH = 20_000  # persons refreshed at once from which re-indexing everyone may be quicker
GAP = 1 << 24  # rowid spacing: room for new rows between neighbours in display order


INDEX_VERSION = "v3"  # meta register_index: an index built by older code is rebuilt once


def document(short_key: str, address: str = "") -> str:
    """The register_tok document of a person (see db.register.postings): its tokens, separated by
    spaces. Tokens are each Chinese character and each pair of neighbouring characters with a
    Chinese one (张三, 3栋, 单元) of the names and the address, and the first letter of each
    pinyin or initials field. So 1-2 character terms are answered from an index.

    The names part and the address part repeat across persons and household members: each is
    composed once (a token in both parts is listed twice, which FTS5 does not mind)."""
    head, id_number, phone = short_key.rsplit(SEP, 2)
    return _document(head, id_number, phone, address.lower())


def _document(head: str, id_number: str, phone: str, address: str, names=None, text=None) -> str:
    """document() from the parts of the short key (lower case) and the lower-case address (names,
    text: the functions for the names and address parts, the cached ones when not given)."""
    parts = [(names or _names_document)(head)]
    if address:
        parts.append((text or _text_document)(address))
    for text in (id_number, phone):
        if text and not text.isascii():
            parts.extend(c for c in text if c >= "\u3400")
        if text and text[0].isascii() and text[0].isalpha():
            parts.append(text[0])
    return " ".join(filter(None, parts))


@lru_cache(maxsize=262_144)
def _names_document(head: str) -> str:
    """Tokens of the names part of a short key: name, pinyin and initials variants, former name."""
    out: set[str] = set()
    for text in head.split(SEP):
        if not text:
            continue
        if text[0].isascii() and text[0].isalpha():
            out.add(text[0])
        if not text.isascii():  # pinyin, initials: no Chinese character, no token
            out |= _text_tokens(text)
    return " ".join(out)


@lru_cache(maxsize=131_072)
def _text_document(text: str) -> str:
    return " ".join(_text_tokens(text))


def _text_tokens(text: str) -> frozenset[str]:
    """Chinese characters and pairs with a Chinese character of one field. A pair holding a
    character that separates tokens (a space, a quote mark) is left out: such a term is not
    looked up in the postings."""
    out = {c for c in text if c >= "\u3400"}
    pairs = (a + b for a, b in zip(text, text[1:], strict=False) if a >= "\u3400" or b >= "\u3400")
    out.update(pairs if postings.exact(text) else filter(postings.exact, pairs))
    return frozenset(out)


@lru_cache(maxsize=65_536)
def natural_key(text: str) -> str:
    """'2栋' sorts before '10栋': numbers are zero-padded."""
    return _DIGITS.sub(lambda m: m.group().zfill(8), text)


_user_readings: dict[str, tuple[str, ...]] = {}  # readings people added (db.register.readings)


@lru_cache(maxsize=65_536)
def _char_pinyin(char: str) -> tuple[str, ...]:
    """Readings of one character (the most common first); non-Chinese characters give themselves.
    Readings people added follow pypinyin's (and stand alone for a character it lacks: 𠮷 = ji)."""
    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    found = tuple(dict.fromkeys([*(r.lower() for r in (readings[0] if readings else []) if r),
                                 *_user_readings.get(char, ())]))
    return found or ((char.lower(),) if char.isascii() and char.isalnum() else ("",))


def use_readings(store) -> None:
    """Take the readings people added from this database; when they changed, the pinyin caches
    are dropped (so names with those characters get their new pinyin and initials)."""
    global _user_readings
    from db.register.readings import user_readings

    current = user_readings(store)
    if current != _user_readings:
        _user_readings = current
        _char_pinyin.cache_clear()
        clear_caches()


@lru_cache(maxsize=262_144)
def name_pinyin(name: str) -> tuple[str, str]:
    """(full pinyin variants, initials variants), SEP-separated; polyphonic surnames give up to 3.

    Per character (names are not phrases): 张三 -> ("zhangsan", "zs"); 曾 -> zeng and ceng.
    """
    if not name:
        return "", ""
    rest = [_char_pinyin(c)[0] for c in name[1:]]
    rest_full = "".join(rest)
    rest_init = "".join(r[:1] for r in rest)
    alternatives = _char_pinyin(name[0])[:3]
    full = SEP.join(dict.fromkeys(a + rest_full for a in alternatives))
    initials = SEP.join(dict.fromkeys(a[:1] + rest_init for a in alternatives))
    return full, initials


@lru_cache(maxsize=262_144)
def _names_key(name: str, former: str) -> str:
    """The names part of a short key (lower case): SEP name SEP pinyin SEP initials SEP former
    name SEP its pinyin SEP its initials."""
    full, initials = name_pinyin(name)
    former_full, former_init = name_pinyin(former)
    return (SEP + SEP.join((name, full, initials, former, former_full, former_init))).lower()


_PERSON_SQL = """
select p.id, p.deleted, p.merged_into, p.name, p.former_name, p.sex, p.birth_date, p.id_number, p.phone,
       p.residence_status, p.person_type, p.move_out_date, p.death_date, p.current_address,
       m.id, m.household_id, m.relation, h.grid_id, h.unit_id, h.address, h.door,
       u.name, b.id, b.name, c.id, c.name, g.name
from person p
left join {membership}
left join household h on h.id = m.household_id
left join unit u on u.id = h.unit_id
left join building b on b.id = u.building_id
left join compound c on c.id = b.compound_id
left join grid g on g.id = coalesce(h.grid_id, c.grid_id)
where {where}
"""

# A person's current membership (else the latest ended one). (A window over all memberships, for
# everyone at once, measured slower than these look-ups.)
_MEMBERSHIP_OF = """membership m on m.id = (
    select id from membership where person_id = p.id and deleted = 0
    order by (until is null) desc, coalesce(until, '') desc, since desc, id desc limit 1)"""

_COLUMNS = ("person_id", "household_id", "membership_id", "grid_id", "compound_id", "building_id", "unit_id",
            "name", "sex", "birth_date", "id_number", "phone", "relation", "address", "residence_status",
            "person_type", "status", "tags", "tag_ids", "due_date", "last_visit", "sort_key", "haystack",
            "short_key")
def refresh_persons(store, person_ids: Sequence[str], *, on: dt.date | None = None) -> None:
    """Recompute the index rows of these persons (removing the dead, merged and deleted ones)."""
    if _pending:
        if _pending[-1] is not None:  # None: everyone is refreshed at the end anyway
            _pending[-1].update(person_ids)
        return
    on = on or today()
    use_readings(store)
    ids = sorted(set(person_ids))
    if len(ids) >= BULK_REFRESH and _has_rows(store.db):
        _refresh_many(store, on, ids)
        return
    # All rows are placed at once: chunk by chunk, rows of one gap would split it again and again.
    all_rows: list[tuple] = []
    all_drop: list[str] = []
    docs: dict[str, str] = {}
    for chunk in chunks(ids):
        rows = _index_rows(store, on, chunk, docs)
        live = {r[0] for r in rows}
        all_rows += rows
        all_drop += [pid for pid in chunk if pid not in live]
    _store_rows(store.db, all_rows, all_drop, docs=docs)


def _refresh_many(store, on: dt.date, ids: Sequence[str]) -> None:
    """refresh_persons for many persons (a large import beside an indexed register): block by
    block (EVERYONE_BLOCK persons), their rows go in after the last row, then every row is put in
    display order once (renumber_rows, which writes the text indexes). Memory stays bounded by
    the block; placing 150,000 rows in gaps at once held them all."""
    db = store.db
    top = db.execute_sql("select coalesce(max(rowid), 0) from register_search").fetchone()[0]
    cursor = db.cursor()
    for block in chunks(ids, EVERYONE_BLOCK):
        docs: dict[str, str] = {}  # not used: renumber_rows writes every document
        rows: list[tuple] = []
        for part in chunks(block):
            rows += _index_rows(store, on, part, docs)
            marks = ",".join("?" * len(part))
            db.execute_sql(f"delete from register_search where person_id in ({marks})", tuple(part))
        cursor.executemany(_INSERT, [(top + GAP * (k + 1), *r) for k, r in enumerate(rows)])
        top += GAP * (len(rows) + 1)
        # The name and pinyin caches would otherwise fill with every new person (over 100 MB for a
        # 150,000-row import); a block's persons share names within it, few across blocks.
        clear_caches()
    renumber_rows(db)


def clear_caches() -> None:
    """Drop the pinyin, names and address caches: after a bulk refresh they hold hundreds of
    megabytes for 150,000 persons, and small refreshes afterwards need few of them. (Called by
    the app's tidy-up after a large import, outside the import's own time.)"""
    for cached in (name_pinyin, _names_key, _names_document, _text_document, natural_key):
        cached.cache_clear()


EVERYONE_BLOCK = 10_000  # persons read and written at a time by refresh_everyone (bounded memory)


def refresh_everyone(store, *, on: dt.date | None = None) -> int:
    """Index every live person (after a bulk write into an empty index: a full handover or a first
    import). Rows of persons no longer live are removed.

    Read and written block by block (EVERYONE_BLOCK persons), so memory does not grow with the
    register. Into an empty index the rows go in as they come and are put in display order once
    at the end (renumber_rows, which writes the text indexes from them)."""
    on = on or today()
    db = store.db
    use_readings(store)
    empty = not _has_rows(db)
    live = [pid for pid, deleted, merged in db.execute_sql(
        "select id, deleted, merged_into from person order by id") if not (deleted or merged)]
    indexed = 0
    # Into an empty index: its secondary indexes are built once after the load and the renumbering
    # (sorted, packed pages), not kept up row by row (all inside the caller's transaction).
    rebuild = oplog._drop_indexes(db, "register_search") if empty and len(live) >= EVERYONE_BLOCK else []
    for block in chunks(live, EVERYONE_BLOCK):
        docs: dict[str, str] = {}
        rows: list[tuple] = []
        for part in chunks(block):
            rows += _index_rows(store, on, part, docs)
        if empty:
            db.cursor().executemany(_INSERT, [(indexed + k + 1, *r) for k, r in enumerate(rows)])
        else:
            _store_rows(db, rows, [], docs=docs)
        indexed += len(rows)
    if empty:
        if indexed:
            renumber_rows(db)
        for sql in rebuild:
            db.execute_sql(sql)
        return indexed
    drop = [pid for (pid,) in db.execute_sql(
        "select s.person_id from register_search s left join person p on p.id = s.person_id "
        "where p.id is null or p.deleted or p.merged_into is not null and p.merged_into != ''")]
    for part in chunks(drop, EVERYONE_BLOCK):
        _store_rows(db, [], list(part))
    return indexed


def _has_rows(db) -> bool:
    return bool(db.execute_sql("select exists(select 1 from register_search)").fetchone()[0])


def _index_rows(store, on: dt.date, chunk: Sequence[str] | None, docs: dict[str, str]) -> list[tuple]:
    """Index rows of the live persons among `chunk` (None: all persons); the register_tok documents
    of those living here are added to `docs` (by person id)."""
    db = store.db
    if chunk is None:
        where, params = "1", ()
    else:
        where, params = f"in ({','.join('?' * len(chunk))})", tuple(chunk)
    sql = _PERSON_SQL.format(membership=_MEMBERSHIP_OF, where="1" if chunk is None else f"p.id {where}")
    rows = db.execute_sql(sql, params).fetchall()
    tags: dict[str, list[tuple[str, str]]] = {}
    for pid, tid, tname, sensitive in db.execute_sql(
            f"select pt.person_id, t.id, t.name, t.sensitive from person_tag pt join tag t on t.id = pt.tag_id "
            f"where pt.deleted = 0 and t.deleted = 0 and (pt.start_date is null or pt.start_date <= ?) "
            f"and (pt.end_date is null or pt.end_date >= ?) and "
            f"{'1' if chunk is None else 'pt.person_id ' + where} "
            f"order by t.sort_order, t.name", (on.isoformat(), on.isoformat(), *params)):
        # Sensitive tags (health, disability, corrections: PIPL) are not named in the list.
        tags.setdefault(pid, []).append((tid, SENSITIVE if sensitive else tname))
    if chunk is None:
        due = compute_due(store, None, on=on)
    else:
        households = sorted({r[15] for r in rows if r[15]})
        due = compute_due(store, households, on=on) if households else {}
    upserts = []
    no_due: dict = {}
    place_keys: dict[tuple, str] = {}
    for r in rows:
        (pid, deleted, merged, name, former, sex, birth, id_number, phone, residence, ptype, moved, died,
         current_address, mid, hid, relation, grid_id, unit_id, address, door, unit, building_id, building,
         compound_id, compound, grid) = r
        if deleted or merged:
            continue
        status = "deceased" if died else "moved_out" if moved else "active"
        # Composed from the live place names, so renaming a compound re-addresses its doors.
        address = (f"{compound or ''}{building or ''}{unit or ''}{door or ''}" if unit_id and unit
                   else address or current_address or "")
        # Every field starts with SEP, so letters can match at the start of a pinyin field.
        head = _names_key(name or "", former or "")
        id_lc, phone_lc, address_lc = (id_number or "").lower(), (phone or "").lower(), address.lower()
        short_key = f"{head}{SEP}{id_lc}{SEP}{phone_lc}"
        haystack = f"{short_key}{SEP}{address_lc}"
        if status == "active":
            docs[pid] = _document(head, id_lc, phone_lc, address_lc)
        place = (grid, compound, building, unit, door)
        place_key = place_keys.get(place)
        if place_key is None:
            place_key = place_keys[place] = SEP.join(natural_key(x or "") for x in place)
        sort_key = f"{place_key}{SEP}{_RELATION_ORDER.get(relation or '', 99):02d}{SEP}{birth or ''}{SEP}{pid}"
        person_tags = tags.get(pid)
        d = due.get(hid, no_due) if hid else no_due
        upserts.append((pid, hid, mid, grid_id, compound_id, building_id, unit_id, name, sex, birth,
                        id_number, phone, relation, address, residence, ptype, status,
                        "、".join(t[1] for t in person_tags) if person_tags else "",
                        ("," + ",".join(t[0] for t in person_tags) + ",") if person_tags else "",
                        d.get("due_date", "") if hid else None, d.get("last_met") if hid else None,
                        sort_key, haystack, short_key))
    return upserts


_SORT = _COLUMNS.index("sort_key")
_STATUS = _COLUMNS.index("status")
_ADDRESS = _COLUMNS.index("address")
_INSERT = (f"insert into register_search (rowid, {','.join(_COLUMNS)}) "
           f"values (?, {','.join('?' * len(_COLUMNS))})")


def _delete_rowids(db, rowids: list[int], *, search_too: bool) -> None:
    for part in chunks(rowids):
        marks = ",".join("?" * len(part))
        db.execute_sql(f"delete from register_fts where rowid in ({marks})", part)
        db.execute_sql(f"delete from register_short where rowid in ({marks})", part)
        db.execute_sql(f"delete from register_tok where rowid in ({marks})", part)
        if search_too:
            db.execute_sql(f"delete from register_search where rowid in ({marks})", part)


def _store_rows(db, rows: list[tuple], drop: list[str], *, docs: dict[str, str] | None = None) -> None:
    """Write index rows so that rowid order is display order (sort_key order).

    A row whose sort key did not change keeps its rowid; others get a rowid in the gap between
    their new neighbours (GAP apart after the last one). When a gap is used up, everything is
    renumbered. Searches then read candidates in rowid order and stop at the limit.
    """
    pids = [r[0] for r in rows] + drop if _has_rows(db) else []  # an empty index has none of them
    existing: dict[str, tuple[int, str, str, str, str]] = {}
    same: set[str] = set()  # rows whose index row is already exactly this: nothing to write
    wanted = {r[0]: r for r in rows}
    current_rows: dict[str, tuple] = {}
    for part in chunks(pids):
        marks = ",".join("?" * len(part))
        for rowid, *current in db.execute_sql(
                f"select rowid, {','.join(_COLUMNS)} from register_search where person_id in ({marks})", part):
            pid = current[0]
            existing[pid] = (rowid, current[_SORT], current[-2], current[-1], current[_STATUS])
            current_rows[pid] = tuple(current)
            if current_rows[pid] == wanted.get(pid):
                same.add(pid)
    kept = [r for r in rows if r[0] in existing and existing[r[0]][1] == r[_SORT] and r[0] not in same]
    moved = sorted((r for r in rows if not (r[0] in existing and existing[r[0]][1] == r[_SORT])),
                   key=lambda r: r[_SORT])
    gone = [existing[p][0] for p in drop if p in existing] + [existing[r[0]][0] for r in moved if r[0] in existing]
    _delete_rowids(db, gone, search_too=True)
    cursor = db.cursor()
    # Most refreshes (a visit, a tag) change no searchable text: the text indexes stay as they are.
    retext = [r for r in kept if (r[-2], r[-1], r[_STATUS]) != existing[r[0]][2:]]
    # Only the changed columns are written (a visit changes due dates, not the indexed place columns).
    updates: dict[tuple[int, ...], list[tuple]] = {}
    for r in kept:
        old_row = current_rows[r[0]]
        changed = tuple(i for i in range(1, len(_COLUMNS)) if r[i] != old_row[i])
        updates.setdefault(changed, []).append((*(r[i] for i in changed), existing[r[0]][0]))
    for changed, params in updates.items():
        cursor.executemany(f"update register_search set {', '.join(f'{_COLUMNS[i]} = ?' for i in changed)} "
                           f"where rowid = ?", params)
    placed = _allocate(db, moved)
    renumber = placed is None
    if placed is None:
        top = db.execute_sql("select coalesce(max(rowid), 0) from register_search").fetchone()[0]
        placed = [(top + GAP * (k + 1), r) for k, r in enumerate(moved)]
    cursor.executemany(_INSERT, [(rowid, *r) for rowid, r in placed])
    if renumber:
        # renumber_rows rewrites all the text indexes from register_search: writing them now
        # would be thrown away.
        if moved:
            renumber_rows(db)
        return
    _delete_rowids(db, [existing[r[0]][0] for r in retext], search_too=False)
    written = [(existing[r[0]][0], r) for r in retext] + placed
    cursor.executemany("insert into register_fts(rowid, haystack) values (?, ?)",
                       [(rowid, r[-2]) for rowid, r in written])
    active = [(rowid, r) for rowid, r in written if r[_STATUS] == "active"]
    cursor.executemany("insert into register_short(rowid, key) values (?, ?)", [(rowid, r[-1]) for rowid, r in active])
    docs = docs or {}
    cursor.executemany("insert into register_tok(rowid, tokens) values (?, ?)",
                       [(rowid, docs.get(r[0]) or document(r[-1], r[_ADDRESS])) for rowid, r in active])


def _allocate(db, rows: list[tuple]) -> list[tuple[int, tuple]] | None:
    """Rowids between each new row's neighbours in sort order; None when a gap is used up."""
    out: list[tuple[int, tuple]] = []
    i = 0
    while i < len(rows):
        key = rows[i][_SORT]
        prev = db.execute_sql("select rowid from register_search where sort_key < ? order by sort_key desc limit 1",
                              (key,)).fetchone()
        nxt = db.execute_sql("select rowid, sort_key from register_search where sort_key > ? order by sort_key "
                             "limit 1", (key,)).fetchone()
        j = i + 1
        while j < len(rows) and (nxt is None or rows[j][_SORT] < nxt[1]):
            j += 1
        low = prev[0] if prev else 0
        count = j - i
        if nxt is None:
            out.extend((low + GAP * (k + 1), rows[i + k]) for k in range(count))
        else:
            step = (nxt[0] - low) // (count + 1)
            if step < 1:
                return None
            out.extend((low + step * (k + 1), rows[i + k]) for k in range(count))
        i = j
    return out


def renumber_rows(db) -> None:
    """Give every index row rowid = rank * GAP in display order (after a gap ran out, or a rebuild).

    Row by row from a list of rowids in display order: one set-based UPDATE of every rowid makes
    SQLite hold every row in memory (hundreds of megabytes for 150,000 persons). The full-text
    table is made again empty (deleting its rows one by one holds every deleted term in memory)."""
    fts_sql = db.execute_sql("select sql from sqlite_master where name = 'register_fts'").fetchone()[0]
    db.execute_sql("drop table register_fts")
    db.execute_sql(fts_sql)
    db.execute_sql("delete from register_short")
    # Equal keys keep their old order.
    order = [rowid for (rowid,) in db.execute_sql("select rowid from register_search order by sort_key, rowid")]
    cursor = db.cursor()
    sql = "update register_search set rowid = ? where rowid = ?"
    if order and max(order) >= GAP:
        # Old rowids may be new ones: out of the way first (negative rowids are never used).
        cursor.executemany(sql, ((-k, rowid) for k, rowid in enumerate(order, 1)))
        cursor.executemany(sql, ((k * GAP, -k) for k in range(1, len(order) + 1)))
    else:
        cursor.executemany(sql, ((k * GAP, rowid) for k, rowid in enumerate(order, 1)))
    del order
    db.execute_sql("insert into register_fts(rowid, haystack) select rowid, haystack from register_search")
    db.execute_sql("insert into register_short(rowid, key) select rowid, short_key from register_search "
                   "where status = 'active'")
    db.execute_sql("insert into register_tok(register_tok) values ('delete-all')")
    rows = db.execute_sql("select rowid, short_key, address from register_search where status = 'active'")
    # Every person once, in display order: the shared caches would only fill up with a whole
    # register (hundreds of megabytes); a household's members, next to each other, share an address.
    names = _names_document.__wrapped__
    text = lru_cache(maxsize=4096)(_text_document.__wrapped__)

    def documents():
        for rowid, key, address in rows:
            head, id_number, phone = key.rsplit(SEP, 2)
            yield rowid, _document(head, id_number, phone, (address or "").lower(), names, text)

    db.cursor().executemany("insert into register_tok(rowid, tokens) values (?, ?)", documents())


def _persons_of_households(store, household_ids: Sequence[str]) -> list[str]:
    out: list[str] = []
    for chunk in chunks(list(household_ids)):
        marks = ",".join("?" * len(chunk))
        out += [r[0] for r in store.db.execute_sql(
            f"select distinct person_id from membership where household_id in ({marks})", tuple(chunk))]
    return out


def _households_of_persons(store, person_ids: Sequence[str]) -> list[str]:
    out: list[str] = []
    for chunk in chunks(list(person_ids)):
        marks = ",".join("?" * len(chunk))
        out += [r[0] for r in store.db.execute_sql(
            f"select distinct household_id from membership where deleted = 0 and person_id in ({marks})",
            tuple(chunk))]
    return out


def _select(store, sql: str, ids: Sequence[str]) -> list[str]:
    out: list[str] = []
    for chunk in chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        out += [r[0] for r in store.db.execute_sql(sql.format(marks=marks), tuple(chunk))]
    return out


def _everyone_pending() -> bool:
    """Whether a bulk write into an empty index is under way (everyone is indexed at its end)."""
    return bool(_pending) and _pending[-1] is None


def _on_person(store, ids):
    if _everyone_pending():
        return
    refresh_persons(store, ids)


def _on_membership(store, ids):
    if _everyone_pending():
        return
    persons = _select(store, "select person_id from membership where id in ({marks})", ids)
    # A new or ended member changes the household's visit interval: refresh all its members.
    refresh_persons(store, _persons_of_households(store, _households_of_persons(store, persons)) + persons)


def _on_household(store, ids):
    if _everyone_pending():
        return
    refresh_persons(store, _persons_of_households(store, ids))


def _on_person_tag(store, ids):
    if _everyone_pending():
        return
    persons = _select(store, "select person_id from person_tag where id in ({marks})", ids)
    refresh_persons(store, _persons_of_households(store, _households_of_persons(store, persons)) + persons)


def _on_tag(store, ids):
    if _everyone_pending():
        return
    persons = _select(store, "select distinct person_id from person_tag where tag_id in ({marks})", ids)
    refresh_persons(store, _persons_of_households(store, _households_of_persons(store, persons)) + persons)


def _on_visit(store, ids):
    if _everyone_pending():
        return
    households = _select(store, "select distinct household_id from visit where id in ({marks})", ids)
    refresh_persons(store, _persons_of_households(store, households))


_PLACE_TO_HOUSEHOLDS = {
    "grid": "select id from household where grid_id in ({marks})",
    "compound": "select h.id from household h join unit u on u.id = h.unit_id join building b on b.id = u.building_id "
                "where b.compound_id in ({marks})",
    "building": "select h.id from household h join unit u on u.id = h.unit_id where u.building_id in ({marks})",
    "unit": "select id from household where unit_id in ({marks})",
}


def _on_char_reading(store, ids):
    if _everyone_pending():
        return
    chars = _select(store, "select distinct char from char_reading where id in ({marks})", ids)
    persons: list[str] = []
    for char in chars:
        persons += [r[0] for r in store.db.execute_sql(
            "select id from person where instr(name, ?) > 0 or instr(former_name, ?) > 0", (char, char))]
    use_readings(store)
    refresh_persons(store, persons)


def _place_hook(table: str):
    def hook(store, ids):
        if _everyone_pending():
            return
        refresh_persons(store, _persons_of_households(store, _select(store, _PLACE_TO_HOUSEHOLDS[table], ids)))
    return hook


def install_hooks(store) -> None:
    """Keep this store's search index current: called by Store.__init__ for every open database."""
    oplog.add_row_hook(store, "person", _on_person)
    oplog.add_row_hook(store, "membership", _on_membership)
    oplog.add_row_hook(store, "household", _on_household)
    oplog.add_row_hook(store, "person_tag", _on_person_tag)
    oplog.add_row_hook(store, "tag", _on_tag)
    oplog.add_row_hook(store, "visit", _on_visit)
    oplog.add_row_hook(store, "char_reading", _on_char_reading)
    for table, hook in _PLACE_HOOKS.items():
        oplog.add_row_hook(store, table, hook)
    # A bulk merge (sync import) refreshes each person once, not once per table that names it.
    oplog.add_bulk_context(store, deferred)


_PLACE_HOOKS = {table: _place_hook(table) for table in _PLACE_TO_HOUSEHOLDS}


@contextmanager
def deferred(store) -> Iterator[None]:
    """Collect index refreshes during a bulk write and do them once at the end (same transaction).

    Into an empty index (a full handover, a first import) everyone is indexed at the end in one
    pass: the hooks need not work out whom each written row concerns."""
    everyone = not _has_rows(store.db)
    _pending.append(None if everyone else set())
    try:
        yield
    finally:
        ids = _pending.pop()
    if ids is None:
        refresh_everyone(store)
    elif len(ids) >= BULK_REFRESH and 2 * _indexed_among(store.db, ids) >= _row_count(store.db):
        # Most of the indexed persons changed (undoing a first import, a big update): indexing
        # everyone afresh is quicker than removing and re-placing rows one by one. (Many new
        # persons beside an indexed register are only added: the others stay as they are.)
        _wipe(store.db)
        refresh_everyone(store)
    else:
        refresh_persons(store, sorted(ids))


def _indexed_among(db, person_ids) -> int:
    """How many of these persons have an index row."""
    ids = list(person_ids)
    return sum(db.execute_sql(f"select count(*) from register_search where person_id in "
                              f"({','.join('?' * len(chunk))})", tuple(chunk)).fetchone()[0]
               for chunk in chunks(ids))


def _row_count(db) -> int:
    return db.execute_sql("select count(*) from register_search").fetchone()[0]


def _wipe(db) -> None:
    db.execute_sql("delete from register_search")
    db.execute_sql("delete from register_fts")
    db.execute_sql("delete from register_short")
    db.execute_sql("insert into register_tok(register_tok) values ('delete-all')")


def rebuild_index(store, progress=None) -> int:
    """Rebuild the whole index from the register tables; returns the number of persons indexed.

    Everyone is read and written in one pass (refresh_everyone): for 50,000 households about half
    the time of refreshing them block by block. progress(done, total) is told the start and end."""
    db = store.db
    with db.atomic():
        _wipe(db)
        total = db.execute_sql("select count(*) from person where deleted = 0 and merged_into is null").fetchone()[0]
        if progress:
            progress(0, total)
        indexed = refresh_everyone(store)
        if progress:
            progress(total, total)
        store.set_meta(register_index=INDEX_VERSION)
    return indexed


def ensure_index(store, progress=None) -> None:
    """Build the index if this database has none yet (a fresh upgrade, or it was marked stale)."""
    state = store.get_meta("register_index")
    if state == "ok":
        # Kept by this version's hooks since the database was made (empty): nothing to rebuild.
        store.set_meta(register_index=INDEX_VERSION)
    elif state != INDEX_VERSION:
        rebuild_index(store, progress)
