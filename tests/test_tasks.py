"""The background task runner: real threads, a real database file, real dialogs."""

from __future__ import annotations

import threading
import time

import pytest
import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QPushButton, QWidget

from db import oplog
from db.errors import Cancelled, ValidationError
from db.models.register import Grid
from desktop.errors import ErrorReporter
from desktop.tasks import TaskRunner, TaskState


@pytest.fixture
def runner(qtbot):
    r = TaskRunner(ErrorReporter(modal=False), dialog_delay_ms=300)
    yield r
    r.shutdown(wait=True)
    box = r.errors.last_box
    if box is not None and shiboken6.isValid(box):
        box.close()


def wait_done(qtbot, task, timeout=10000):
    qtbot.waitUntil(lambda: task.finished, timeout=timeout)


def test_work_runs_on_the_writer_thread_and_the_result_comes_back_on_the_gui_thread(runner, qtbot):
    seen = {}

    def work(state):
        seen["worker"] = threading.current_thread()
        return 42

    def done(result):
        seen["done"] = threading.current_thread()
        seen["result"] = result

    task = runner.run(work, title="t", on_done=done)
    wait_done(qtbot, task)
    assert seen["result"] == 42
    assert seen["worker"] is not threading.main_thread()
    assert seen["worker"].name.startswith("griddesk-db")
    assert seen["done"] is threading.main_thread()

    io_task = runner.run(lambda state: threading.current_thread().name, title="io", io=True)
    wait_done(qtbot, io_task)
    assert io_task.result.startswith("griddesk-io")


def test_database_writes_are_serialised_on_one_writer_thread(runner, qtbot):
    names = set()
    tasks = [runner.run(lambda state: names.add(threading.current_thread().ident), title="w") for _ in range(5)]
    for task in tasks:
        wait_done(qtbot, task)
    assert len(names) == 1


def test_starting_a_task_does_not_block_the_gui(runner, qtbot):
    release = threading.Event()
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    started = time.perf_counter()
    task = runner.run(lambda state: release.wait(5), title="slow")
    assert time.perf_counter() - started < 0.1
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=3000)  # the event loop keeps running
    assert not task.finished
    release.set()
    wait_done(qtbot, task)
    timer.stop()


def test_progress_reaches_the_gui_throttled(runner, qtbot):
    received = []

    def work(state):
        for i in range(20000):
            state.set_progress(i + 1, 20000)
        return state.emitted

    task = runner.run(work, title="p")
    task.sig_progress.connect(lambda done, total, text: received.append((done, total)))
    wait_done(qtbot, task)
    assert received[-1] == (20000, 20000)  # the end always arrives
    assert 1 <= len(received) <= task.result < 100  # not 20,000 signals


def test_cancel_rolls_back_a_real_write(runner, qtbot, store):
    ops_before = store.db.execute_sql("select count(*) from oplog").fetchone()[0]
    written = threading.Event()

    def work(state):
        with store.db.atomic():
            oplog.write(store, Grid, [{"name": f"第{i}网格"} for i in range(50)])
            written.set()
            while not state.is_cancelled():
                time.sleep(0.01)
            state.check_cancelled()
        return "committed"

    cancelled = []
    task = runner.run(work, title="写入", on_done=lambda r: pytest.fail("should not finish"),
                      on_cancel=lambda: cancelled.append(True))
    assert written.wait(5)
    task.cancel()
    wait_done(qtbot, task)
    assert task.cancelled and cancelled == [True]
    assert runner.errors.last_message is None  # cancelling is not an error
    # Seen from another connection (the GUI thread's): nothing committed.
    assert Grid.select().count() == 0
    assert store.db.execute_sql("select count(*) from oplog").fetchone()[0] == ops_before


def test_the_dialog_appears_only_for_slow_tasks_and_its_cancel_button_cancels(runner, qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    fast = runner.run(lambda state: 1, title="快", parent=parent)
    wait_done(qtbot, fast)
    qtbot.wait(400)  # past the dialog delay
    assert not fast.dialog_shown

    def slow(state):
        for i in range(500):
            if state.is_cancelled():
                raise Cancelled("已取消")
            state.set_progress(i, 500, "正在处理")
            time.sleep(0.01)

    task = runner.run(slow, title="慢任务", parent=parent)
    qtbot.wait(100)
    assert task.dialog is None  # not yet: quick work shows nothing
    qtbot.waitUntil(lambda: task.dialog is not None and task.dialog.isVisible(), timeout=3000)
    assert task.dialog.labelText().startswith("正在处理")
    buttons = task.dialog.findChildren(QPushButton)
    assert [b.text() for b in buttons] == ["取消"]
    qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    wait_done(qtbot, task)
    assert task.cancelled
    assert task.dialog is None


def test_errors_go_to_the_error_reporter_or_on_error(runner, qtbot):
    def boom(state):
        raise ValueError("internal detail")

    task = runner.run(boom, title="x")
    wait_done(qtbot, task)
    errors = runner.errors
    assert "操作未能完成" in errors.last_message
    assert "ValueError: internal detail" in errors.last_details
    assert errors.last_box.detailedText() == errors.last_details

    task = runner.run(lambda state: (_ for _ in ()).throw(ValidationError("第 3 行“身份证号”：位数不对")), title="y")
    wait_done(qtbot, task)
    assert errors.last_message == "第 3 行“身份证号”：位数不对"  # shown as it is
    assert errors.last_details is None

    got = []
    errors.last_message = None
    task = runner.run(boom, title="z", on_error=got.append)
    wait_done(qtbot, task)
    assert isinstance(got[0], ValueError) and errors.last_message is None


def test_a_stale_result_for_a_closed_screen_is_dropped(runner, qtbot):
    parent = QWidget()
    release = threading.Event()
    got = []
    task = runner.run(lambda state: release.wait(5), title="s", parent=parent, on_done=got.append)
    parent.deleteLater()
    qtbot.wait(50)
    release.set()
    wait_done(qtbot, task)
    assert got == []


def test_synchronous_mode_runs_inline_for_tests():
    runner = TaskRunner(synchronous=True)
    got = []
    task = runner.run(lambda state: threading.current_thread(), title="s", on_done=got.append)
    assert task.finished and got == [threading.main_thread()]
    with pytest.raises(ValueError):  # no error reporter: the error is not swallowed
        runner.run(lambda state: int("x"), title="e")
    runner.shutdown()


def test_state_progress_callback_stops_a_db_loop():
    state = TaskState()
    progress = state.progress_callback()
    assert progress(1, 10) is True
    state.cancel()
    assert progress(2, 10) is False
    with pytest.raises(Cancelled):
        state.check_cancelled()


def test_a_background_chore_never_shows_a_progress_dialog(runner, qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    release = threading.Event()
    got = []

    def chore(state):
        state.set_progress(1, 10, "正在备份")
        release.wait(5)
        return "done"

    quiet = runner.run(chore, title="每日备份", parent=parent, on_done=got.append, show_progress=False)
    loud = runner.run(lambda state: release.wait(5), title="慢", parent=parent, io=True)
    qtbot.waitUntil(lambda: loud.dialog is not None, timeout=3000)  # past the dialog delay
    qtbot.wait(100)
    assert quiet.dialog is None and not quiet.dialog_shown
    release.set()
    wait_done(qtbot, quiet)
    wait_done(qtbot, loud)
    assert got == ["done"]


@pytest.mark.qt_no_exception_capture
def test_an_exception_escaping_a_slot_reaches_the_error_reporter(qtbot):
    import sys

    errors = ErrorReporter(modal=False)
    previous = sys.excepthook
    errors.install_excepthook()
    try:
        def broken_slot():
            raise KeyError("slot bug")

        QTimer.singleShot(0, broken_slot)
        qtbot.waitUntil(lambda: errors.last_message is not None, timeout=3000)
        assert "操作未能完成" in errors.last_message
        assert "KeyError: 'slot bug'" in errors.last_details
    finally:
        sys.excepthook = previous
        if errors.last_box is not None and shiboken6.isValid(errors.last_box):
            errors.last_box.close()


def test_closing_the_window_under_a_progress_dialog_ends_the_task_quietly(runner, qtbot):
    parent = QWidget()
    parent.show()
    release = threading.Event()
    got = []

    def slow(state):
        state.set_progress(0, 2, "第一步")
        release.wait(60)  # set below; a loaded machine may take seconds to show the dialog
        state.set_progress(1, 2, "第二步")  # reaches a dialog that is gone
        time.sleep(0.3)
        return "stale"

    task = runner.run(slow, title="慢", parent=parent, on_done=got.append)
    qtbot.waitUntil(lambda: task.dialog is not None, timeout=20000)
    dialog = task.dialog
    parent.close()
    parent.deleteLater()  # takes the dialog with it
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=3000)
    task.cancel()  # the user's cancel from elsewhere (e.g. closing the app) must not crash either
    release.set()
    wait_done(qtbot, task)
    assert got == [] and task.dialog is None
    assert runner.errors.last_message is None


def test_after_cancel_the_dialog_says_cancelling_until_the_work_really_ends(runner, qtbot, store):
    """A late cancel (e.g. during a long index refresh that checks only at its end): the dialog stays
    up saying 正在取消… with its button disabled; Escape and the close box do not hide it either."""
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    at_100 = threading.Event()
    release = threading.Event()

    def work(state):
        with store.db.atomic():
            oplog.write(store, Grid, [{"name": f"第{i}网格"} for i in range(20)])
            state.set_progress(100, 100, "正在更新索引")
            at_100.set()
            release.wait(10)  # long work that does not look at the cancel flag
            state.check_cancelled()
        return "committed"

    cancelled = []
    task = runner.run(work, title="导入", parent=parent, on_cancel=lambda: cancelled.append(True),
                      on_done=lambda r: pytest.fail("should not finish"))
    assert at_100.wait(5)
    qtbot.waitUntil(lambda: task.dialog is not None and task.dialog.isVisible(), timeout=3000)
    dialog = task.dialog
    qtbot.waitUntil(lambda: dialog.value() == dialog.maximum(), timeout=3000)
    [button] = dialog.findChildren(QPushButton)
    assert button.isEnabled() and button.text() == "取消"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.wait(300)
    assert dialog.isVisible() and not task.finished
    assert dialog.labelText() == "正在取消…"
    assert not button.isEnabled()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    dialog.close()
    qtbot.wait(100)
    assert dialog.isVisible() and task.dialog is dialog
    release.set()
    wait_done(qtbot, task)
    assert task.cancelled and cancelled == [True] and task.dialog is None
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible(), timeout=3000)
    assert Grid.select().count() == 0


def test_escape_on_the_progress_dialog_cancels_instead_of_hiding_it(runner, qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()

    def slow(state):
        for i in range(500):
            state.set_progress(i, 500, "正在处理")
            time.sleep(0.01)
        time.sleep(0.3)  # a last stretch without a check
        state.check_cancelled()

    task = runner.run(slow, title="慢任务", parent=parent)
    qtbot.waitUntil(lambda: task.dialog is not None and task.dialog.isVisible(), timeout=3000)
    dialog = task.dialog
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert task.state.is_cancelled()
    assert dialog.isVisible() and dialog.labelText() == "正在取消…"
    wait_done(qtbot, task)
    assert task.cancelled


def test_work_asked_for_after_shutdown_is_not_started(qtbot):
    """A late callback (e.g. the register finished loading as the window closed) that asks for more
    work after shutdown gets nothing started and no error."""
    from desktop.tasks import TaskRunner

    runner = TaskRunner()
    runner.shutdown()
    ran = []
    runner.run(lambda _s: ran.append(1), title="late", on_done=ran.append, io=True)
    qtbot.wait(50)
    assert ran == []
