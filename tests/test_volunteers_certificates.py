"""Certificate numbers given twice by two laptops issuing offline: listed, and one renumbered."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt

from db.errors import ValidationErrors
from db.sync import exchange, identity
from db.volunteers import roster, service, stars
from tests.sync_helpers import make_replicas
from tests.volunteers_helpers import volunteers_screen

DAY = dt.date(2026, 11, 20)


def _sync(stores, src: int, dst: int) -> None:
    ids = [identity.identity(s).device_id for s in stores]
    with stores[src].activated():
        data = exchange.export_bundle(stores[src], for_device=ids[dst]).data
    with stores[dst].activated():
        exchange.import_bundle(stores[dst], exchange.read_bundle(stores[dst], data))


def _served(store, name: str) -> str:
    vid = roster.save_volunteer(store, name=name)[0].row_id
    start = dt.datetime(2026, 11, 5, 9)
    act = service.save_activity(store, team_id=None, title="助老服务", start=start,
                                end=start + dt.timedelta(hours=3))[0].row_id
    sid = service.record_service(store, activity_id=act, volunteer_id=vid, sign_in=start,
                                 sign_out=start + dt.timedelta(hours=3))[0].row_id
    service.approve_services(store, service_ids=[sid])
    return vid


def two_laptops_with_a_shared_number(folder):
    stores = make_replicas(folder, ["甲", "乙"])
    with stores[0].activated():
        a, b = _served(stores[0], "张三"), _served(stores[0], "李四")
    _sync(stores, 0, 1)
    for store, vid in zip(stores, (a, b), strict=True):  # offline, each gives the next number: 2026-00001
        with store.activated():
            stars.issue_certificate(store, volunteer_id=vid, issuer="幸福里社区居民委员会", on=DAY)
    _sync(stores, 0, 1)
    _sync(stores, 1, 0)
    return stores


def test_duplicate_numbers_are_listed_and_one_is_renumbered(tmp_path):
    stores = two_laptops_with_a_shared_number(tmp_path)
    try:
        first, second = stores
        with second.activated():
            dups = stars.duplicate_certificates(second)
            assert [d["number"] for d in dups] == ["2026-00001", "2026-00001"]
            assert {d["name"] for d in dups} == {"张三", "李四"}
            changes = stars.renumber_certificate(second, certificate_id=dups[1]["id"])
            assert stars.certificate(second, changes[0].row_id)["number"] == "2026-00002"
            assert stars.duplicate_certificates(second) == []
            with pytest.raises(ValidationErrors) as err:  # a number given once stays put
                stars.renumber_certificate(second, certificate_id=dups[0]["id"])
            assert "2026-00001" in err.value.message and err.value.errors[0].field == "certificate_id"
        _sync(stores, 1, 0)  # through the op log: the other laptop sees the new number
        with first.activated():
            assert stars.duplicate_certificates(first) == []
            assert sorted(c["number"] for c in stars.certificates(first)) == ["2026-00001", "2026-00002"]
    finally:
        for s in stores:
            s.close()


def test_griddesk_volunteers_certificates_lists_and_renumbers(tmp_path):
    from tests.test_cli import griddesk

    stores = two_laptops_with_a_shared_number(tmp_path)
    path = stores[1].path
    dup = stars.duplicate_certificates(stores[1])[0]["id"]
    for s in stores:
        s.close()
    r = griddesk("volunteers", "certificates", "--db", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("2026-00001") == 2 and "重号的证明编号：1" in r.stdout
    r = griddesk("volunteers", "certificates", "--db", str(path), "--renumber", dup)
    assert r.returncode == 0, r.stderr
    assert "2026-00002" in r.stdout and "重号的证明编号：0" in r.stdout


def test_stars_tab_shows_duplicates_and_renumbers_the_chosen_one(ctx, qtbot):
    from db import oplog
    from db.models.volunteers import Certificate

    store = ctx.store
    a, b = _served(store, "张三"), _served(store, "李四")
    stars.issue_certificate(store, volunteer_id=a, issuer="幸福里社区居民委员会", on=DAY)
    screen = volunteers_screen(ctx, qtbot)
    screen.tabs.setCurrentWidget(screen.stars)
    page = screen.stars
    page.refresh()
    assert not page.dup_view.isVisible() and page.dup_warning.text() == ""
    # What a merge of a laptop that issued offline brings: the same number for 李四.
    oplog.write(store, Certificate, [{"number": "2026-00001", "volunteer_id": b, "minutes": 180,
                                      "issuer": "幸福里社区居民委员会", "issued": DAY.isoformat(), "handler": "乙"}])
    page.refresh()
    assert page.dup_view.isVisible() and "2026-00001" in page.dup_warning.text()
    assert [r["name"] for r in page.dups.rows] == ["张三", "李四"]
    page.renumber()  # nothing chosen: a message, nothing changed
    assert "先选" in page.message.text()
    page.dup_view.selectRow(1)
    qtbot.mouseClick(page.renumber_button, Qt.MouseButton.LeftButton)
    assert "2026-00002" in page.message.text()
    assert stars.duplicate_certificates(store) == [] and not page.dup_view.isVisible()
    assert sorted(c["number"] for c in stars.certificates(store)) == ["2026-00001", "2026-00002"]
