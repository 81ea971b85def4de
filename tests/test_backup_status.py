"""The status bar's “last backup” follows every backup, also the one a task makes before an import."""

from __future__ import annotations

import threading
from pathlib import Path

from db.backup import latest_backup, make_backup
from tests.ledger_helpers import import_through_wizard

FIXTURES = Path(__file__).parent / "fixtures" / "ledger"


def test_the_backup_before_an_import_updates_the_status_bar(ctx, qtbot):
    from desktop.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    assert window.backup_label.text() == "上次备份：从未备份"
    wizard = import_through_wizard(ctx, qtbot)
    assert wizard.currentPage() is wizard.done_page
    latest = latest_backup(ctx.store.path)
    assert latest is not None and "import" in latest.name
    qtbot.waitUntil(lambda: window.backup_label.toolTip() == str(latest), timeout=3000)
    assert "从未备份" not in window.backup_label.text()


def test_a_backup_made_on_another_thread_reaches_the_status_bar(ctx, qtbot):
    from desktop.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    made: list[Path] = []
    worker = threading.Thread(target=lambda: made.append(make_backup(ctx.store, "import")))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: window.backup_label.toolTip() == str(made[0]), timeout=3000)
