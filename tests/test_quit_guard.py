"""Quitting never drops a write: closing the main window with database work queued waits for it
(with a short note); with an import running it asks, and a cancelled import leaves nothing."""

from __future__ import annotations

import threading

import pytest
import shiboken6
from PySide6.QtCore import QTimer

from db import oplog
from db.errors import Cancelled
from db.models.register import Person
from desktop.main_window import MainWindow
from desktop.tasks import TaskRunner


@pytest.fixture
def window(ctx, qtbot):
    ctx.tasks = TaskRunner(ctx.errors, dialog_delay_ms=200)  # real threads, as in the app
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    w.show()
    yield w
    ctx.tasks.shutdown(wait=True)  # (cancels what is still running)


def _names(store) -> set[str]:
    return {n for (n,) in store.db.execute_sql("select name from person")}


def test_closing_waits_for_queued_writes_with_a_note(window, ctx, qtbot):
    store, release = ctx.store, threading.Event()

    def slow_save(state):
        release.wait(10)
        oplog.write(store, Person, [{"name": "第一条"}])

    def queued_save(state):
        oplog.write(store, Person, [{"name": "排队的第二条"}])

    ctx.tasks.run(slow_save, title="保存", cancellable=False)
    ctx.tasks.run(queued_save, title="保存", cancellable=False)
    assert not window.close()  # put off
    assert window.isVisible()
    assert window._quit_note is not None and "正在保存" in window._quit_note.labelText()
    release.set()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert _names(store) == {"第一条", "排队的第二条"}  # nothing dropped


def test_closing_during_an_import_asks_and_a_cancelled_import_leaves_nothing(window, ctx, qtbot):
    store, started = ctx.store, threading.Event()

    def import_like(state):
        with store.db.atomic():
            oplog.write(store, Person, [{"name": "导入了一半"}])
            started.set()
            for _ in range(1000):
                if state.is_cancelled():
                    raise Cancelled("已取消")
                threading.Event().wait(0.01)

    task = ctx.tasks.run(import_like, title="导入交换包", parent=window)
    assert started.wait(10)
    qtbot.waitUntil(lambda: task.dialog_shown, timeout=10_000)  # its progress is on screen
    answered = []

    def answer(label: str):
        box = window._quit_box
        if box is None or not shiboken6.isValid(box):
            QTimer.singleShot(50, lambda: answer(label))
            return
        assert "导入交换包" in box.text()
        (button,) = [b for b in box.buttons() if b.text() == label]
        answered.append(label)
        button.click()

    QTimer.singleShot(50, lambda: answer("继续工作"))
    assert not window.close()
    assert answered == ["继续工作"] and window.isVisible() and getattr(window, "_quit_note", None) is None
    assert ctx.tasks.pending_writes  # still running

    QTimer.singleShot(50, lambda: answer("取消并关闭"))
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert not ctx.tasks.pending_writes
    assert _names(store) == set()  # rolled back whole: nothing half-imported


def test_shutdown_runs_queued_writes_instead_of_dropping_them(ctx, qtbot):
    runner = TaskRunner(ctx.errors)
    store, release = ctx.store, threading.Event()
    runner.run(lambda state: release.wait(10), title="忙", cancellable=False)
    runner.run(lambda state: oplog.write(store, Person, [{"name": "退出前排队"}]), title="保存", cancellable=False)
    threading.Timer(0.2, release.set).start()
    runner.shutdown(wait=True)
    assert _names(store) == {"退出前排队"}


def test_no_pending_work_closes_at_once(window, ctx, qtbot):
    # The register's start-up work (the search index check, on the writer) is over first: on a
    # loaded machine it can still be running right after show().
    qtbot.waitUntil(lambda: not ctx.tasks.pending_writes, timeout=20_000)
    assert window.close()
    assert not window.isVisible()
