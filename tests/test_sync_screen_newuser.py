"""The 同步与交接 screen for a new user: bundles listed by what they are, a passphrase handover from an
unknown device trusted right in the preview (after comparing the fingerprint), naming the computer."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from db import oplog
from db.models.register import Person
from db.store import Store
from db.sync import exchange, identity
from tests.test_sync_screen import _screen


def _answer_confirm(qtbot, tab, button: QMessageBox.StandardButton, seen: list[str]) -> None:
    def answer():
        box = getattr(tab, "confirm_box", None) or QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, answer)
            return
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(50, answer)


def test_passphrase_handover_from_unknown_device_is_trusted_from_the_preview(qtbot, tmp_path):
    src = Store(tmp_path / "old.sqlite", user="张伟")
    identity.rename_device(src, "张伟的笔记本")
    oplog.write(src, Person, [{"name": "王五"}, {"name": "赵六"}])
    stick = tmp_path / "stick"
    stick.mkdir()
    exchange.export_to_file(src, stick, full=True, passphrase="口令123")
    fp = identity.identity(src).fingerprint
    dst = Store(tmp_path / "new.sqlite", user="李")
    screen = _screen(qtbot, dst, tmp_path)
    tab = screen.import_tab
    screen.tabs.setCurrentWidget(tab)
    tab.set_folder(stick)
    assert tab.found.count() == 1
    line = tab.found.item(0).text()
    assert "张伟的笔记本" in line and "完整交接" in line and "口令" in line and fp[:9] in line
    tab.found.setCurrentRow(0)
    assert tab.file.text().endswith(".GDB")
    tab.passphrase.setText("口令123")
    tab.check_now()
    text = tab.preview.toPlainText()
    assert "张伟的笔记本" in text and fp in text and "尚未受信任" in text and "新增人口：2" in text
    assert not tab.import_button.isEnabled() and tab.trust_button.isVisible()
    assert tab.trust_button.text() == "信任此设备并导入"

    seen: list[str] = []
    _answer_confirm(qtbot, tab, QMessageBox.StandardButton.Cancel, seen)
    tab.trust_and_import()
    assert seen and fp in seen[0] and "本机与受信任设备" in seen[0]
    assert dst.db.execute_sql("select count(*) from person").fetchone() == (0,)
    assert identity.trusted_devices(dst) == []

    _answer_confirm(qtbot, tab, QMessageBox.StandardButton.Yes, seen)
    tab.trust_and_import()
    assert sorted(n for (n,) in dst.db.execute_sql("select name from person")) == ["王五", "赵六"]
    assert "已导入" in tab.preview.toPlainText()
    assert not tab.trust_button.isVisible()
    devices = screen.devices_tab.devices
    assert devices.rowCount() == 1 and devices.item(0, 0).text() == "张伟的笔记本"
    assert devices.item(0, 1).text() == fp
    src.close()
    dst.close()


def test_a_made_up_name_is_asked_for_once(qtbot, tmp_path):
    store = Store(tmp_path / "a.sqlite", user="root")
    screen = _screen(qtbot, store, tmp_path)
    screen.tabs.setCurrentWidget(screen.devices_tab)
    assert screen.devices_tab.name_hint.isVisible()
    screen.activated()
    dialog = screen.name_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.name.text() == f"root的电脑-{identity.identity(store).fingerprint[:4]}"
    dialog.name.setText("社区办公室")
    dialog.accept()
    assert identity.identity(store).name == "社区办公室"
    assert screen.devices_tab.name.text() == "社区办公室" and not screen.devices_tab.name_hint.isVisible()
    screen.name_dialog = None
    screen.activated()
    assert screen.name_dialog is None
    store.close()


def test_renaming_in_the_devices_tab_hides_the_hint(qtbot, tmp_path):
    store = Store(tmp_path / "a.sqlite", user="root")
    screen = _screen(qtbot, store, tmp_path)
    tab = screen.devices_tab
    screen.tabs.setCurrentWidget(tab)
    assert tab.name_hint.isVisible()
    tab.name.setText("张伟的笔记本")
    tab.save_name()
    assert identity.identity(store).name == "张伟的笔记本" and not tab.name_hint.isVisible()
    store.close()
