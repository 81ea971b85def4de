"""A grid worker's first day: the first-start choice, a new register, the demo banner, help,
the first backup, an early window, and one name for this computer."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication
from shell_helpers import make_settings, start_shell, stop_shell

from db.models.register import Compound, Grid, Household
from desktop import app as app_module


@pytest.fixture
def first_start(qtbot, tmp_path, monkeypatch):
    """A computer where GridDesk never ran: the data folder is empty."""
    target = tmp_path / "data" / "griddesk.sqlite"
    monkeypatch.setattr(app_module, "default_db_path", lambda: target)
    shell = start_shell(qtbot, make_settings(tmp_path), None, demo_households=30, wait_window=False)
    yield shell
    stop_shell(shell)


def _wait_window(qtbot, shell):
    qtbot.waitUntil(lambda: shell.window is not None and shell.window.isVisible(), timeout=20000)
    return shell.window


def test_first_start_asks_what_to_start_with(first_start, qtbot):
    dialog = first_start.first_start_dialog
    assert dialog is not None and dialog.isVisible()
    assert first_start.window is None  # no demo made behind the person's back
    titles = [b.text() for b in dialog.buttons.values()]
    assert titles == ["新建空白台账", "接收交接包", "查看演示社区"]
    assert "data" in dialog.where.text()


def test_the_demo_is_its_own_file_with_a_permanent_banner(first_start, qtbot, tmp_path):
    first_start.first_start_dialog.buttons["demo"].click()
    window = _wait_window(qtbot, first_start)
    assert first_start.ctx.store.path == tmp_path / "data" / "demo.sqlite"
    assert Household.select().where(Household.deleted == 0).count() == 30
    banner = window.demo_banner
    assert banner is not None and banner.isVisible()
    assert "演示社区" in banner.text.text() and "虚构" in banner.text.text()
    # It stays whatever screen is shown.
    for key in ("visits", "printing", "settings"):
        window.show_screen(key)
        assert banner.isVisible()


def test_a_blank_register_with_the_community_grids_and_compounds(first_start, qtbot, tmp_path):
    first_start.first_start_dialog.buttons["blank"].click()
    dialog = first_start.new_register_dialog
    assert dialog.isVisible()
    dialog.community.setText("幸福里社区")
    from PySide6.QtWidgets import QTableWidgetItem

    dialog.grids.setItem(0, 0, QTableWidgetItem("第一网格"))
    dialog.grids.setItem(0, 1, QTableWidgetItem("李娜"))
    dialog.grids.setItem(0, 2, QTableWidgetItem("幸福里、建设新村"))
    dialog.grids.setItem(1, 0, QTableWidgetItem("第二网格"))
    dialog.grids.setItem(1, 1, QTableWidgetItem("王强"))
    dialog.grids.setItem(1, 2, QTableWidgetItem("和平小区"))
    dialog.findChild(type(dialog.grids).__mro__[0])  # noqa: B018 - the table exists
    from PySide6.QtWidgets import QDialogButtonBox

    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    window = _wait_window(qtbot, first_start)
    store = first_start.ctx.store
    assert store.path == tmp_path / "data" / "griddesk.sqlite"
    assert sorted((g.name, g.worker) for g in Grid.select()) == [("第一网格", "李娜"), ("第二网格", "王强")]
    assert sorted(c.name for c in Compound.select()) == ["和平小区", "幸福里", "建设新村"]
    assert store.get_meta("community_name") == "幸福里社区"
    assert window.demo_banner is None
    # Every place went through the op log.
    assert store.db.execute_sql("select count(*) from oplog where tbl in ('grid', 'compound')").fetchone()[0] == 5
    # The empty register says how to start it.
    screen = window.get_screen("households")
    qtbot.waitUntil(lambda: screen.browser.ready, timeout=10000)
    hint = screen.browser.empty_hint
    qtbot.waitUntil(hint.isVisible, timeout=10000)  # once the (background) search found nobody
    assert "新增地点" in hint.text() and "导入台账" in hint.text()
    # The first backup is made on the first day.
    from db.backup import list_backups

    qtbot.waitUntil(lambda: len(list_backups(store.path)) == 1, timeout=10000)


def test_the_new_register_form_says_what_is_missing(first_start, qtbot):
    first_start.first_start_dialog.buttons["blank"].click()
    dialog = first_start.new_register_dialog
    dialog.grids.item(0, 0).setText("")
    from PySide6.QtWidgets import QDialogButtonBox

    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.isVisible() and first_start.window is None
    assert "社区名称" in dialog.error.text() and "网格" in dialog.error.text()


def test_receiving_a_handover_opens_the_import_of_a_new_register(first_start, qtbot, tmp_path):
    first_start.first_start_dialog.buttons["handover"].click()
    window = _wait_window(qtbot, first_start)
    assert first_start.ctx.store.path == tmp_path / "data" / "griddesk.sqlite"
    assert window.current_key() == "sync"
    screen = window.get_screen("sync")
    assert screen.tabs.currentWidget() is screen.import_tab
    assert "交接包" in window.statusBar().currentMessage()


def test_start_register_service_checks_and_writes_nothing_when_wrong(store):
    from db.errors import ValidationErrors
    from db.register.community import start_register

    with pytest.raises(ValidationErrors) as err:
        start_register(store, community="幸福里", grids=[{"name": "A"}, {"name": "A"}, {"worker": "张三"}])
    messages = [e.message for e in err.value.errors]
    assert any("第 2 行" in m and "重复" in m for m in messages)
    assert any("第 3 行" in m for m in messages)
    assert Grid.select().count() == 0
    changes = start_register(store, community="幸福里", grids=[{"name": "A", "compounds": ["x", "x", ""]}])
    assert {c.table for c in changes} == {"grid", "compound"} and len(changes) == 2


def test_help_menu_has_a_guide_and_the_data_folders(qtbot, tmp_path):
    shell = start_shell(qtbot, make_settings(tmp_path), tmp_path / "griddesk.sqlite")
    try:
        window = shell.window
        help_menu = window.menuBar().actions()[2].menu()
        texts = [a.text() for a in help_menu.actions() if a.text()]
        assert texts[:2] == ["入门与快捷键", "数据与备份位置"] and "关于网格台账" in texts
        from desktop import first_start

        guide = first_start.show_guide(window)
        text = guide.browser.toPlainText()
        assert "Ctrl+N" in text and "Ctrl+R" in text and "第一步" in text or "入门" in text
        where = first_start.show_locations(window)
        text = where.browser.toPlainText()
        assert str(tmp_path / "griddesk.sqlite") in text and "backups" in text
        assert "settings.ini" in text
        guide.close()
        where.close()
        # The menus offer a blank register and a handover at any time.
        file_texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
        assert "新建空白台账…" in file_texts and "接收交接包…" in file_texts
    finally:
        stop_shell(shell)


def test_an_early_window_while_the_database_opens(qtbot, tmp_path):
    from db.store import Store

    db = tmp_path / "griddesk.sqlite"
    Store(db).close()
    shell = start_shell(qtbot, make_settings(tmp_path), db, wait_window=False)
    try:
        # Right after start(): before any event ran, something is on the screen.
        assert shell.starting is not None and shell.starting.isVisible()
        assert "griddesk.sqlite" in shell.starting.text.text()
        _wait_window(qtbot, shell)
        assert shell.starting is None
    finally:
        stop_shell(shell)


def test_this_computer_is_named_once_and_shown_the_same_everywhere(qtbot, tmp_path):
    from db.store import Store
    from db.sync import identity

    first, second = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    Store(first).close()
    Store(second).close()
    settings = make_settings(tmp_path)
    shell = start_shell(qtbot, settings, first)
    try:
        window = shell.window
        window.show_screen("sync")
        screen = window.get_screen("sync")
        dialog = screen.name_dialog
        assert dialog is not None  # a made-up name: asked once
        dialog.name.setText("社区办公室电脑")
        dialog.accept()
        assert settings.device_name == "社区办公室电脑"
        fp = identity.identity(shell.ctx.store).fingerprint
        assert window.node_label.text() == f"本机：社区办公室电脑（{fp[:9]}）"
        assert screen.devices_tab.name.text() == "社区办公室电脑"
        shell.open_path(second)
        qtbot.waitUntil(lambda: shell.ctx.store.path == second, timeout=10000)
        window = shell.window
        # The other database takes the computer's name; nobody asks again.
        assert identity.identity(shell.ctx.store).name == "社区办公室电脑"
        assert not identity.name_is_default(shell.ctx.store)
        window.show_screen("sync")
        assert window.get_screen("sync").name_dialog is None
        assert window.node_label.text().startswith("本机：社区办公室电脑（")
    finally:
        stop_shell(shell)


def test_the_window_fills_a_small_screen(qtbot, tmp_path):
    shell = start_shell(qtbot, make_settings(tmp_path), tmp_path / "griddesk.sqlite")
    try:
        window = shell.window
        area = (window.screen() or QApplication.primaryScreen()).availableGeometry()
        if area.width() > 1440 and area.height() > 900:
            pytest.skip("a large screen")
        assert window.width() >= area.width() * 0.97 and window.height() >= area.height() * 0.9
    finally:
        stop_shell(shell)




@pytest.mark.parametrize("argv", [[], ["gui", "--db", "g.sqlite"]])
def test_the_first_window_is_painted_before_anything_but_qt_is_loaded(tmp_path, argv):
    """`python -m desktop` paints its starting window before importing the catalogue, the commands,
    peewee and the db/ layer (a second on a cold laptop), so a first launch never shows nothing
    while they load (bench/bench_first_paint.py times it under Xvfb)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import os, runpy, sys\n"
        "from desktop import splash\n"
        "def painted():\n"
        "    heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('peewee', 'db', 'babel', 'i18n', 'printouts')"
        " or m in ('desktop.cli', 'desktop.app', 'desktop.first_start', 'desktop.appearance'))\n"
        "    print('PAINTED', heavy, flush=True)\n"
        "    os._exit(0)\n"
        "splash._report_first_paint = painted\n"
        f"sys.argv = ['desktop', *{argv!r}]\n"
        "runpy.run_module('desktop', run_name='__main__')\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=Path(__file__).parent.parent,
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "PAINTED []", out.stdout + out.stderr
