"""Retention: the review list, and a redaction that an old bundle arriving later cannot undo."""

from __future__ import annotations

import datetime as dt

import pytest

from db import oplog
from db.accounts import audit, retention
from db.accounts.session import AccessDenied, Session, bind
from db.models.register import Person
from db.sync import exchange
from tests.sync_helpers import make_replicas


def test_redaction_survives_an_old_bundle_imported_later(tmp_path):
    from db.register.persons import move_out, save_person

    laptop, office = make_replicas(tmp_path, ["laptop", "office"])
    pid = save_person(laptop, values={"name": "欧阳震华", "sex": "男", "birth_date": "1950-03-07",
                                      "id_number": "110101195003070013", "phone": "13912345678"})[0].row_id
    move_out(laptop, person_id=pid, date="2018-05-01", destination="外省")
    from db.sync import identity

    office_id = identity.identity(office).device_id
    laptop_id = identity.identity(laptop).device_id
    first = exchange.export_bundle(laptop, for_device=office_id, full=True)
    exchange.import_bundle(office, exchange.read_bundle(office, first.data))
    # On the laptop, an edit made before the redaction; its bundle reaches the office only later.
    oplog.write(laptop, Person, [{"id": pid, "phone": "13987654321", "notes": "旧U盘上的修改"}])
    old = exchange.export_bundle(laptop, for_device=office_id)
    # The office reviews and redacts.
    listed = retention.review_list(office, years=5, today=dt.date(2026, 12, 1))
    assert [r["id"] for r in listed] == [pid]
    retention.redact_person(office, person_id=pid, reason="迁出满5年")
    assert retention.review_list(office, years=5, today=dt.date(2026, 12, 1)) == []
    exchange.import_bundle(office, exchange.read_bundle(office, old.data))  # the old stick arrives
    row = office.db.execute_sql("select name, id_number, phone, notes, birth_date, move_out_date from person "
                                "where id = ?", (pid,)).fetchone()
    assert row == (retention.REDACTED_NAME, None, None, None, "1950-01-01", "2018-05-01")
    assert "redact" in [r.action for r in audit.search(office, person=pid)]
    # Back on the laptop too, whatever order the ops arrive in.
    back = exchange.export_bundle(office, for_device=laptop_id)
    exchange.import_bundle(laptop, exchange.read_bundle(laptop, back.data))
    row = laptop.db.execute_sql("select name, id_number, phone from person where id = ?", (pid,)).fetchone()
    assert row == (retention.REDACTED_NAME, None, None)
    hits = laptop.db.execute_sql("select count(*) from register_search where haystack like '%13912345678%' "
                                 "or haystack like '%欧阳震华%'").fetchone()[0]
    assert hits == 0
    for s in (laptop, office):
        s.close()


def test_only_an_administrator_reviews_and_redacts(tmp_path):
    (store,) = make_replicas(tmp_path, ["one"])
    bind(store, Session(login="li", role="grid", grid_ids=frozenset({"g"})))
    with pytest.raises(AccessDenied):
        retention.review_list(store)
    with pytest.raises(AccessDenied):
        retention.redact_person(store, person_id="x")
    store.close()
