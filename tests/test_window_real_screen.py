"""The window fills a 1366×768 office screen: the real app on a real X server (Xvfb), at 100 % and
150 % text, not the offscreen platform's 800×600 screen the other GUI tests run on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys
from pathlib import Path
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from desktop.app import Shell
from desktop.errors import ErrorReporter
from desktop.settings import Settings
folder = Path(sys.argv[1])
settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
settings.set_text_scale(int(sys.argv[2]))
settings.set_operator_name("李娜")
shell = Shell(app, settings, errors=ErrorReporter(modal=False), demo_households=0)
shell.start(folder / "griddesk.sqlite")
def probe():
    w = shell.window
    if w is None or not w.isVisible():
        QTimer.singleShot(200, probe)
        return
    def report():
        area = w.screen().availableGeometry()
        frame = w.frameGeometry()
        print(json.dumps({"platform": app.platformName(), "screen": [area.width(), area.height()],
                          "window": [frame.x(), frame.y(), frame.width(), frame.height()],
                          "maximized": w.isMaximized()}), flush=True)
        app.quit()
    QTimer.singleShot(1500, report)
QTimer.singleShot(200, probe)
app.exec()
"""


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs Xvfb (scripts/install-system-deps.sh --test)")
@pytest.mark.parametrize("scale", [100, 150])
def test_the_window_fills_a_1366_by_768_screen(tmp_path, scale):
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT), HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    out = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1366x768x24", sys.executable, "-c", PROBE,
                          str(tmp_path), str(scale)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, out.stdout + out.stderr
    seen = json.loads(lines[-1])
    assert seen["platform"] == "xcb" and seen["screen"][0] == 1366 and seen["screen"][1] <= 768
    x, y, width, height = seen["window"]
    assert x >= 0 and y >= 0, seen  # on the screen, nothing off its edges
    assert x + width <= 1366 and y + height <= 768, seen
    assert width >= 1366 * 0.97 and height >= seen["screen"][1] * 0.9, seen  # fills it
