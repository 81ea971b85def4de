"""Export to Excel takes exactly the households list's filters; moved-out and dead people keep
their places (their last household) and get a 状态 column. Real database, real .xlsx."""

from __future__ import annotations

import pytest
from python_calamine import CalamineWorkbook

from db.demo import generate
from db.register.persons import move_out, record_death
from db.validation import mask_id

STATUS = {"active": "在册", "moved_out": "已迁出", "deceased": "已死亡"}
PLACES = ("与户主关系", "户号", "小区", "楼栋", "单元", "门牌")


@pytest.fixture
def community(store):
    generate(store, households=40, seed=3)
    people = [r[0] for r in store.db.execute_sql(
        "select p.id from person p join membership m on m.person_id = p.id and m.until is null "
        "where p.deleted = 0 order by p.id")]
    for pid in people[:5]:
        move_out(store, person_id=pid, date="2026-10-01", destination="外省")
    for pid in people[5:8]:
        record_death(store, person_id=pid, date="2026-10-02")
    return store


@pytest.fixture
def screen(ctx, community, qtbot):
    from views.households import HouseholdsScreen

    s = HouseholdsScreen(ctx)
    qtbot.addWidget(s)
    s.show()
    qtbot.waitUntil(lambda: s.browser.ready, timeout=10_000)
    return s


def _sheet(path) -> list[dict[str, str]]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    header = [str(h) for h in rows[1]]  # row 1 is the title
    return [dict(zip(header, (str(v) for v in row), strict=True)) for row in rows[2:]]


def _list_rows(browser) -> list[dict]:
    return [browser.model.row(i) for i in range(browser.model.rowCount())]


def _export(ctx, qtbot, dialog, path) -> list[dict[str, str]]:
    dialog.path_edit.setText(str(path))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.last_count is not None, timeout=10_000)
    return _sheet(path)


def _select_status(browser, key: str) -> None:
    browser.status.setCurrentIndex(browser.status.findData(key))


def _select_first_compound(browser) -> str:
    root = browser.tree.topLevelItem(0)
    compound = root.child(0) if root.child(0).data(0, 256)[0] == "compound" else root.child(0).child(0)
    browser.tree.setCurrentItem(compound)
    return compound.text(0)


def test_the_households_button_exports_the_lists_rows_with_status_and_last_places(ctx, qtbot, screen, tmp_path):
    browser = screen.browser
    _select_status(browser, "all")
    compound = _select_first_compound(browser)
    browser.age.setCurrentIndex(0)
    shown = _list_rows(browser)
    assert {r["status"] for r in shown} >= {"active", "moved_out"}  # the filter really includes them
    dialog = browser.export_list()
    assert f"{len(shown)} 名居民" in dialog.count_label.text()
    rows = _export(ctx, qtbot, dialog, tmp_path / "shown.xlsx")
    assert len(rows) == len(shown)
    assert sorted((r["姓名"], r["证件号码"], r["状态"]) for r in rows) == sorted(
        (s["name"], mask_id(s["id_number"]), STATUS[s["status"]]) for s in shown)
    gone = [r for r in rows if r["状态"] != "在册"]
    assert gone
    for r in gone:  # their last household's places, not blanks
        assert all(r[col] for col in PLACES), r
        assert r["小区"] == compound


def test_only_those_living_here_by_default_and_no_status_column(ctx, qtbot, screen, tmp_path):
    browser = screen.browser
    shown = _list_rows(browser)
    total = ctx.store.db.execute_sql("select count(*) from person where deleted = 0").fetchone()[0]
    assert len(shown) == total - 8
    dialog = browser.export_list()
    rows = _export(ctx, qtbot, dialog, tmp_path / "active.xlsx")
    assert len(rows) == len(shown)
    assert "状态" not in rows[0]
    assert sorted(r["证件号码"] for r in rows) == sorted(mask_id(s["id_number"]) for s in shown)


def test_the_file_menu_exports_what_the_households_list_shows(ctx, qtbot, community, tmp_path):
    from desktop.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show_screen("households")
    browser = window.get_screen("households").browser
    qtbot.waitUntil(lambda: browser.ready, timeout=10_000)
    _select_status(browser, "moved_out")
    shown = _list_rows(browser)
    assert len(shown) == 5
    dialog = window._export_ledger()
    assert "5 名居民" in dialog.count_label.text()
    rows = _export(ctx, qtbot, dialog, tmp_path / "menu.xlsx")
    assert [r["状态"] for r in rows] == ["已迁出"] * 5
    assert sorted(r["姓名"] for r in rows) == sorted(s["name"] for s in shown)
