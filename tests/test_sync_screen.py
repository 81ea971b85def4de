"""The 同步与交接 screen under pytest-qt: export to a folder, import with preview, receipts, history,
conflicts review side by side, devices (add from card, revoke)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from db import oplog
from db.models.register import Person
from db.sync import identity
from desktop.context import AppContext
from desktop.errors import ErrorReporter
from desktop.settings import Settings
from desktop.tasks import TaskRunner
from tests.sync_helpers import make_replicas
from views.sync import SyncScreen


def _screen(qtbot, store, tmp_path) -> SyncScreen:
    errors = ErrorReporter(modal=False)
    ctx = AppContext(store=store, tasks=TaskRunner(errors, synchronous=True), errors=errors,
                     settings=Settings(QSettings(str(tmp_path / f"{store.path.stem}.ini"),
                                                 QSettings.Format.IniFormat)))
    screen = SyncScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1000, 700)
    screen.show()
    return screen


def _export_to(screen: SyncScreen, stick: Path) -> Path:
    """Export from a screen's export tab to the folder; returns the newest bundle written."""
    stick.mkdir(exist_ok=True)
    screen.export_tab.set_target_folder(stick)
    screen.export_tab.export_now()
    return max(stick.glob("*.GDB"), key=lambda p: p.stat().st_mtime_ns)


def _check_and_import(screen: SyncScreen, bundle_file: Path) -> None:
    screen.import_tab.file.setText(str(bundle_file))
    screen.import_tab.check_now()
    screen.import_tab.import_now()


@pytest.fixture
def pair(tmp_path):
    a, b = make_replicas(tmp_path, ["甲", "乙"])
    yield a, b
    a.close()
    b.close()


def test_export_import_preview_receipt_and_conflict_review(qtbot, pair, tmp_path):
    a, b = pair
    with a.activated():
        pid = oplog.write(a, Person, [{"name": "张三", "phone": "13800000001"}])[0].row_id
    stick = tmp_path / "stick"
    stick.mkdir()
    sa = _screen(qtbot, a, tmp_path)
    sa.export_tab.set_target_folder(stick)
    combo = sa.export_tab.receiver
    assert combo.count() == 3  # changes for 乙, full for 乙, full with passphrase only
    assert "乙" in combo.itemText(0)
    sa.export_tab.export_now()
    assert "安全拔出" in sa.export_tab.status.text()
    (bundle_file,) = stick.glob("*.GDB")
    assert sa.history_tab.table.rowCount() == 1

    sb = _screen(qtbot, b, tmp_path)
    sb.import_tab.file.setText(str(bundle_file))
    sb.import_tab.check_now()
    text = sb.import_tab.preview.toPlainText()
    assert "来自：甲" in text and "新增人口：1" in text and "冲突" in text
    assert b.db.execute_sql("select count(*) from person").fetchone() == (0,)  # a preview changes nothing
    announced = []
    sb.ctx.events.sig_data_changed.connect(announced.extend)
    sb.import_tab.import_now()
    assert b.db.execute_sql("select name from person").fetchall() == [("张三",)]
    assert [c.row_id for c in announced] == [pid]
    sb.import_tab.write_receipt(stick)
    (receipt,) = stick.glob("*.GDR")
    assert sb.history_tab.table.rowCount() == 2

    # Concurrent edits of the same field on both sides, then b imports a's changes.
    with a.activated():
        oplog.write(a, Person, [{"id": pid, "name": "张叁"}])
    with b.activated():
        oplog.write(b, Person, [{"id": pid, "name": "张三丰"}])
    sa.import_tab.file.setText(str(receipt))
    sa.import_tab.check_now()
    sa.import_tab.import_now()
    sa.export_tab.export_now()
    newest = max(stick.glob("*.GDB"), key=lambda p: p.stat().st_mtime_ns)
    sb.import_tab.file.setText(str(newest))
    sb.import_tab.check_now()
    assert "需要审核的新冲突：1" in sb.import_tab.preview.toPlainText()
    sb.import_tab.import_now()
    tab = sb.conflicts_tab
    assert len(tab.model.items) == 1 and "（1）" in sb.tabs.tabText(sb.tabs.indexOf(tab))
    values = {tab.values.item(0, c).text() for c in range(tab.values.columnCount())}
    users = {tab.values.item(1, c).text() for c in range(tab.values.columnCount())}
    assert values == {"张叁", "张三丰"} and users == {"甲", "乙"}
    tab.new_value.setText("张三")
    tab.use_typed()
    assert tab.model.items == []
    assert b.db.execute_sql("select name from person").fetchall() == [("张三",)]
    assert oplog.compare_with_log(b) == []


def test_bad_bundle_shows_chinese_message_and_changes_nothing(qtbot, pair, tmp_path):
    _a, b = pair
    bad = tmp_path / "BAD.GDB"
    bad.write_bytes(b"not a bundle at all")
    sb = _screen(qtbot, b, tmp_path)
    sb.import_tab.file.setText(str(bad))
    sb.import_tab.check_now()
    assert "不是网格台账的交换包" in sb.ctx.errors.last_message
    assert not sb.import_tab.import_button.isEnabled()


def test_devices_tab_add_card_and_revoke(qtbot, tmp_path):
    (a,) = make_replicas(tmp_path / "one", ["甲"])
    (c,) = make_replicas(tmp_path / "two", ["丙"])
    card = tmp_path / "C.GDC"
    identity.write_card(c, card)
    sa = _screen(qtbot, a, tmp_path)
    tab = sa.devices_tab
    assert tab.fingerprint.text() == identity.identity(a).fingerprint
    assert tab.devices.rowCount() == 0
    assert tab.add_card(card, is_office=True)
    assert tab.devices.rowCount() == 1 and tab.devices.item(0, 2).text() == "社区办公室"
    tab.devices.selectRow(0)
    tab.revoke_selected(confirm=False)
    assert "吊销" in tab.devices.item(0, 4).text()
    assert not identity.trusted_devices(a, include_revoked=False)
    junk = tmp_path / "J.GDC"
    junk.write_text("{}")
    assert not tab.add_card(junk)
    assert "设备名片" in sa.ctx.errors.last_message
    a.close()
    c.close()


def test_phone_numbers_in_conflicts_are_masked_until_shown_in_full(qtbot, pair, tmp_path):
    from db.models.register import AuditEntry
    from db.sync import exchange

    a, b = pair
    with a.activated():
        pid = oplog.write(a, Person, [{"name": "王五", "phone": "13800000001"}])[0].row_id
    with b.activated():
        exchange.import_bundle(b, exchange.read_bundle(b, exchange.export_bundle(
            a, for_device=identity.identity(b).device_id).data))
        oplog.write(b, Person, [{"id": pid, "phone": "13922223333"}])
    with a.activated():
        oplog.write(a, Person, [{"id": pid, "phone": "13711112222"}])
        exchange.import_bundle(a, exchange.read_bundle(a, exchange.export_bundle(
            b, for_device=identity.identity(a).device_id).data))
    screen = _screen(qtbot, a, tmp_path)
    tab = screen.conflicts_tab
    shown = {tab.values.item(0, c).text() for c in range(tab.values.columnCount())}
    assert not shown & {"13922223333", "13711112222"} and all("*" in s for s in shown)
    assert tab.title.text().endswith("字段 电话：")
    tab.reveal_current()
    shown = {tab.values.item(0, c).text() for c in range(tab.values.columnCount())}
    assert shown == {"13922223333", "13711112222"}
    with a.activated():
        assert AuditEntry.select().where(AuditEntry.action == "reveal", AuditEntry.target_id == pid).count() == 1


def test_sync_screen_opens_in_the_main_window(qtbot, tmp_path):
    from shell_helpers import make_settings, start_shell, stop_shell

    shell = start_shell(qtbot, make_settings(tmp_path), tmp_path / "app.sqlite")
    try:
        shell.window.show_screen("sync")
        qtbot.waitUntil(lambda: bool(shell.window.findChildren(SyncScreen)), timeout=10000)
        screen = shell.window.findChildren(SyncScreen)[0]
        assert screen.devices_tab.fingerprint.text() == identity.identity(shell.ctx.store).fingerprint
    finally:
        stop_shell(shell)


def test_a_large_import_is_followed_by_a_full_backup(qtbot, pair, tmp_path, monkeypatch):
    """So that the backup before the next import stays a small incremental one (db.backup.refresh_base)."""
    from db import backup
    from views.sync import transfer

    a, b = pair
    with a.activated():
        oplog.write(a, Person, [{"name": f"居民{i}"} for i in range(6)])
    monkeypatch.setattr(transfer, "LARGE_IMPORT_OPS", 5)
    monkeypatch.setattr(backup, "MAX_DELTA_OPS", 4)
    bundle_file = _export_to(_screen(qtbot, a, tmp_path), tmp_path / "stick")
    _check_and_import(_screen(qtbot, b, tmp_path), bundle_file)
    reasons = [backup.describe(p).reason for p in backup.list_backups(b.path)]
    assert reasons.count("base") == 1 and reasons.count("import") == 1
    with b.activated():
        oplog.write(b, Person, [{"name": "新来的"}])
        assert backup.describe(backup.make_backup(b, "import")).incremental


def _cancel_during_derived_data(ctx, table: str = "person"):
    """A row hook (derived data, run after the last merge step) that presses Cancel on the running
    import: a cancel that comes while the search index is refreshed, just before the commit."""
    seen = []

    def hook(store, row_ids):
        seen.append(len(row_ids))
        for task in ctx.tasks.active:
            task.cancel()

    oplog.add_row_hook(ctx.store, table, hook)
    return hook, seen


def test_a_late_cancel_imports_nothing_says_so_and_the_import_can_be_run_again(qtbot, pair, tmp_path):
    a, b = pair
    with a.activated():
        oplog.write(a, Person, [{"name": f"居民{i}"} for i in range(5)])
    stick = tmp_path / "stick"
    stick.mkdir()
    sa = _screen(qtbot, a, tmp_path)
    sa.export_tab.set_target_folder(stick)
    sa.export_tab.export_now()
    (bundle_file,) = stick.glob("*.GDB")
    sb = _screen(qtbot, b, tmp_path)
    tab = sb.import_tab
    tab.file.setText(str(bundle_file))
    tab.check_now()
    assert tab.import_button.isEnabled()
    ops_before = b.db.execute_sql("select count(*) from oplog").fetchone()[0]
    hook, seen = _cancel_during_derived_data(sb.ctx)
    try:
        tab.import_now()
    finally:
        oplog.remove_row_hook(b, "person", hook)
    assert seen  # the cancel came during the derived data, after every merge step
    assert b.db.execute_sql("select count(*) from person").fetchone() == (0,)
    assert b.db.execute_sql("select count(*) from oplog").fetchone()[0] == ops_before
    assert b.db.execute_sql("select count(*) from sync_exchange where direction = 'import'").fetchone() == (0,)
    text = tab.preview.toPlainText()
    assert text.startswith("已取消，未导入任何数据。") and "新增人口：5" in text
    assert tab.import_button.isEnabled() and not tab.receipt_button.isEnabled()
    assert sb.ctx.errors.last_message is None  # cancelling is not an error
    tab.import_now()
    assert b.db.execute_sql("select count(*) from person").fetchone() == (5,)
    assert tab.preview.toPlainText().startswith("已导入：5 条新更改")


def test_a_late_cancel_of_trust_and_import_leaves_the_sender_untrusted_and_offers_it_again(qtbot, tmp_path):
    from db.store import Store
    from db.sync import exchange

    src = Store(tmp_path / "old.sqlite", user="张伟")
    oplog.write(src, Person, [{"name": "王五"}])
    stick = tmp_path / "stick"
    stick.mkdir()
    exchange.export_to_file(src, stick, full=True, passphrase="口令123")
    dst = Store(tmp_path / "new.sqlite", user="李")
    screen = _screen(qtbot, dst, tmp_path)
    tab = screen.import_tab
    tab.file.setText(str(next(stick.glob("*.GDB"))))
    tab.passphrase.setText("口令123")
    tab.check_now()
    assert tab.trust_button.isVisibleTo(tab) and not tab.import_button.isEnabled()
    hook, _seen = _cancel_during_derived_data(screen.ctx)
    try:
        tab.trust_and_import(confirm=False)
    finally:
        oplog.remove_row_hook(dst, "person", hook)
    assert dst.db.execute_sql("select count(*) from person").fetchone() == (0,)
    assert identity.trusted_devices(dst) == []
    text = tab.preview.toPlainText()
    assert text.startswith("已取消，未导入任何数据。") and "尚未受信任" in text
    assert tab.trust_button.isVisibleTo(tab) and not tab.import_button.isEnabled()

    tab.trust_and_import(confirm=False)
    assert dst.db.execute_sql("select name from person").fetchall() == [("王五",)]
    text = tab.preview.toPlainText()
    # The result is at the top of the view and the stale warning is gone.
    assert text.splitlines()[0] == "已导入：1 条新更改，0 个新冲突待审核。"
    assert "尚未受信任" not in text and "发送设备已加入受信任设备。" in text
    assert tab.preview.verticalScrollBar().value() == 0
    assert not tab.trust_button.isVisibleTo(tab) and tab.receipt_button.isEnabled()
    src.close()
    dst.close()


def test_the_conflict_review_chooses_nothing_for_the_person(qtbot, pair, tmp_path):
    """No value is preselected: 采用选中的值 waits until the person selects one, then keeps that one."""
    a, b = pair
    with a.activated():
        pid = oplog.write(a, Person, [{"name": "张三"}])[0].row_id
    stick = tmp_path / "stick"
    sa, sb = _screen(qtbot, a, tmp_path), _screen(qtbot, b, tmp_path)
    _check_and_import(sb, _export_to(sa, stick))
    with a.activated():
        oplog.write(a, Person, [{"id": pid, "name": "张叁"}])
    with b.activated():
        oplog.write(b, Person, [{"id": pid, "name": "张三丰"}])
    _check_and_import(sb, _export_to(sa, stick))
    tab = sb.conflicts_tab
    assert len(tab.model.items) == 1
    assert not tab.values.selectedRanges() and not tab.use_button.isEnabled()
    col = next(c for c in range(tab.values.columnCount()) if tab.values.item(0, c).text() == "张三丰")
    tab.values.selectColumn(col)
    assert tab.use_button.isEnabled()
    tab.use_button.click()
    assert tab.model.items == []
    assert b.db.execute_sql("select name from person").fetchall() == [("张三丰",)]


def test_the_history_names_the_file_an_imported_bundle_came_from(qtbot, pair, tmp_path):
    from db.sync.exchange import exchange_history

    a, b = pair
    with a.activated():
        oplog.write(a, Person, [{"name": "张三"}])
    sa, sb = _screen(qtbot, a, tmp_path), _screen(qtbot, b, tmp_path)
    bundle_file = _export_to(sa, tmp_path / "stick")
    _check_and_import(sb, bundle_file)
    with b.activated():
        (entry,) = [e for e in exchange_history(b) if e["direction"] == "import"]
    assert entry["file_name"] == str(bundle_file)


def test_a_bundle_with_a_hole_is_refused_on_screen_and_the_receipt_asks_for_the_gap(qtbot, pair, tmp_path):
    from db.sync import beliefs

    a, b = pair
    with a.activated():
        oplog.write(a, Person, [{"name": "张三"}, {"name": "李四"}])
    # A believes B holds what B lost (B restored an older backup).
    beliefs.replace_belief(a, identity.identity(b).device_id, {a.node_id: 1})
    stick = tmp_path / "stick"
    sa, sb = _screen(qtbot, a, tmp_path), _screen(qtbot, b, tmp_path)
    holed = _export_to(sa, stick)
    sb.import_tab.file.setText(str(holed))
    sb.import_tab.check_now()
    message = sb.ctx.errors.last_message
    assert "缺少这些更改" in message and "没有导入任何内容" in message and "回执" in message
    assert not sb.import_tab.import_button.isEnabled()
    assert sb.import_tab.receipt_button.isEnabled()
    assert b.db.execute_sql("select count(*) from oplog").fetchone() == (0,)
    sb.import_tab.write_receipt(stick)
    (receipt,) = stick.glob("*.GDR")
    _check_and_import(sa, receipt)
    _check_and_import(sb, _export_to(sa, stick))  # A's next ordinary bundle fills the gap
    assert {n for (n,) in b.db.execute_sql("select name from person")} == {"张三", "李四"}
