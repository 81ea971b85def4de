"""Every main screen and dialog at 150 % text on a 1366×768 and a 1920×1080 screen: no label,
button, field hint or table header is cut (sizeHint against the size given; tests/layout_check.py).

Both ways a person gets there: the app started at 150 %, and 100 % changed to 150 % while the
screens are open.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from layout_check import clipped_widgets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import screens_at_scale  # noqa: E402

SIZES = [(1366, 768), (1920, 1080)]


def _shell(qtbot, scale: int):
    from PySide6.QtCore import QTimer  # noqa: F401

    args = type("Args", (), {"scale": scale, "households": 40})()
    app, shell, db = screens_at_scale.build(args)
    shell.start(db)
    qtbot.waitUntil(lambda: shell.window is not None and shell.window.isVisible(), timeout=20000)
    return app, shell


def _walk(app, shell, width: int, height: int) -> dict[str, list[str]]:
    window = shell.window
    window.showNormal()
    window.setGeometry(0, 0, width, height - 30)  # a task bar
    found = {}
    for name, opener in screens_at_scale.targets(shell):
        top = opener()
        for _ in range(3):
            app.processEvents()
        problems = clipped_widgets(top)
        if problems:
            found[name] = problems
        if top is not window:
            top.close()
    return found


def _stop(shell):
    from shell_helpers import stop_shell

    stop_shell(shell)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_nothing_is_cut_at_150_percent(qtbot, width, height):
    app, shell = _shell(qtbot, 150)
    try:
        assert _walk(app, shell, width, height) == {}
    finally:
        _stop(shell)


def test_nothing_is_cut_after_changing_to_150_percent_with_the_screens_open(qtbot):
    app, shell = _shell(qtbot, 100)
    try:
        window = shell.window
        window.setGeometry(0, 0, 1366, 738)
        for key in ("households", "visits", "printing", "sync", "settings"):
            window.show_screen(key)
        shell.settings.set_text_scale(150)
        app.processEvents()
        assert _walk(app, shell, 1366, 768) == {}
    finally:
        _stop(shell)


def test_the_checker_finds_a_cut_header_and_a_cut_wrapped_label(qtbot):
    """The check itself: a 性别 column 30 px wide and a wrapped label too low are reported."""
    from PySide6.QtWidgets import QLabel, QTableWidget, QVBoxLayout, QWidget

    box = QWidget()
    qtbot.addWidget(box)
    layout = QVBoxLayout(box)
    table = QTableWidget(1, 2)
    table.setHorizontalHeaderLabels(["性别", "与户主关系"])
    table.horizontalHeader().resizeSection(0, 30)
    label = QLabel("证件号码校验不通过：请对照证件逐位核对每一位数字。" * 3)
    label.setWordWrap(True)
    label.setFixedHeight(12)
    layout.addWidget(table)
    layout.addWidget(label)
    box.resize(400, 300)
    box.show()
    qtbot.waitExposed(box)
    problems = clipped_widgets(box)
    assert any("性别" in p for p in problems)
    assert any("证件号码校验" in p for p in problems)
