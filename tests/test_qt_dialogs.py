"""Qt's own file dialogs: Chinese labels, and a sensible start folder that is remembered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QLineEdit
from shell_helpers import make_settings, start_shell, stop_shell

from desktop import file_dialogs

ASCII_WORD = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture
def shell(qtbot, tmp_path):
    s = start_shell(qtbot, make_settings(tmp_path), tmp_path / "griddesk.sqlite")
    yield s
    stop_shell(s)


def test_qt_file_dialog_strings_are_chinese_after_the_app_set_up_its_translators(shell):
    # Ours fill Qt's gaps; Qt's own catalogue still answers the rest (Parent Directory, Detail View).
    for source in ("Look in:", "&Look in:", "Files of &type:", "File &name:", "Parent Directory", "Detail View"):
        text = QCoreApplication.translate("QFileDialog", source)
        assert not ASCII_WORD.search(text.replace("&", "")), (source, text)
    for source, comment in (("Folder", "All other platforms"), ("%1 File", None), ("Drive", None)):
        text = QCoreApplication.translate("QAbstractFileIconProvider", source, comment)
        assert not ASCII_WORD.search(text), (source, text)  # the file list's 类型 column
    dialog = QFileDialog(shell.window, "选择")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    labels = [label.text() for label in dialog.findChildren(QLabel) if label.text()]
    assert "查找范围(&L)：" in labels
    assert not [t for t in labels if ASCII_WORD.search(t.replace("&", ""))]
    dialog.deleteLater()


def test_english_mode_keeps_qt_english(shell, qtbot):
    shell.settings.set_language("en")
    qtbot.waitUntil(lambda: QCoreApplication.translate("QFileDialog", "&Look in:") == "&Look in:", timeout=3000)


def _answer_next_dialog(qtbot, seen: list, choose: Path | None) -> None:
    """Look at the file dialog that is about to open, then choose a file in it (or cancel)."""

    def answer() -> None:
        dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog) and w.isVisible()]
        dialog = dialogs[0] if dialogs else None
        if dialog is None:
            QTimer.singleShot(50, answer)
            return
        seen.append(Path(dialog.directory().absolutePath()))
        if choose is None:
            dialog.reject()
        else:
            dialog.findChild(QLineEdit, "fileNameEdit").setText(str(choose))  # as if typed
            dialog.accept()

    QTimer.singleShot(50, answer)


def test_file_dialogs_start_in_documents_or_home_and_remember_the_last_folder(ctx, qtbot, tmp_path):
    start = file_dialogs.default_folder()
    assert start != Path.cwd() and start.is_dir()
    assert start == Path.home() or start.name.lower() in ("documents", "文档")
    seen: list[Path] = []
    _answer_next_dialog(qtbot, seen, None)
    assert file_dialogs.save_file(None, ctx.settings, "保存", "名单.xlsx", "Excel (*.xlsx)") == ""
    assert seen == [start]
    folder = tmp_path / "台账"
    folder.mkdir()
    chosen = folder / "名单.xlsx"
    chosen.write_bytes(b"")
    _answer_next_dialog(qtbot, seen, chosen)
    assert file_dialogs.open_file(None, ctx.settings, "打开", "Excel (*.xlsx)") == str(chosen)
    assert ctx.settings.last_folder == str(folder)
    _answer_next_dialog(qtbot, seen, None)
    file_dialogs.open_file(None, ctx.settings, "打开", "Excel (*.xlsx)")
    assert seen[-1] == folder  # the next dialog opens where the last file was


def test_the_export_dialog_suggests_its_file_in_the_remembered_folder(ctx, qtbot, tmp_path):
    from views.ledger.export_dialog import ExportDialog

    ctx.settings.set_last_folder(str(tmp_path))
    dialog = ExportDialog(ctx)
    qtbot.addWidget(dialog)
    seen: list[Path] = []
    _answer_next_dialog(qtbot, seen, tmp_path / "导出.xlsx")
    dialog.browse()
    assert seen == [tmp_path]
    assert dialog.path_edit.text() == str(tmp_path / "导出.xlsx")
