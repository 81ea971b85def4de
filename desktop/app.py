"""Start-up and the running application: fonts, translations, opening databases, the window.

`main(db_path=None)` is what `griddesk` (and `griddesk gui`) runs. The Shell object owns the
AppContext and the main window; screens reach it as `ctx.shell` to open or create another
database file or to restore a backup.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

import i18n
from db.errors import Cancelled, DatabaseOpenError
from desktop import appearance
from desktop.context import AppContext, Events
from desktop.errors import ErrorReporter
from desktop.settings import Settings
from desktop.tasks import TaskRunner
from i18n import N_, _

log = logging.getLogger(__name__)

DEMO_HOUSEHOLDS = 2000
FILE_FILTER_MSG = N_("GridDesk databases (*.sqlite *.db);;All files (*)")


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("GridDesk", appauthor=False)) / "griddesk.sqlite"


def open_store_task(path: Path, *, create: bool, demo_households: int = 0, user: str | None = None,
                    prepare: Callable | None = None, computer_name: str = ""):
    """The background work of opening (and on first start filling) a database file.

    prepare(store) runs on a newly created file (e.g. start_register); computer_name is this
    computer's name from the settings, given to a database whose device has a made-up one."""

    def work(state):
        from db import migrations
        from db.store import Store

        state.set_progress(0, 0, _("Opening {name}…").format(name=path.name))

        def migrating(version: int, done: int, total: int) -> None:
            # A file from an older version is brought up to date as it opens (after a backup): at a
            # street office's size this takes minutes, so the progress dialog says what is going on.
            if total > 0:
                state.set_progress(done, total, _("Updating the database file for this version of GridDesk "
                                                  "(the changes are repacked, {done:,} of {total:,})…").format(
                    done=done, total=total))
            else:
                state.set_progress(0, 0, _("Updating the database file: giving back the space it no longer "
                                           "needs…"))

        migrations.add_progress_listener(migrating)
        try:
            store = Store(path, user=user, create=create)
        finally:
            migrations.remove_progress_listener(migrating)
        if prepare is not None and store.created:
            prepare(store)
        if demo_households and store.created:
            try:
                from db.demo import generate
            except ImportError:  # the demo generator is not there: start empty
                return store
            state.set_progress(0, demo_households, _("Creating a demo community on first start…"))
            try:
                generate(store, households=demo_households, seed=1, progress=state.progress_callback())
            except Cancelled:
                pass  # what was made stays; the app opens with it
        _settle_identity(store, computer_name)
        return store

    return work


def _settle_identity(store, computer_name: str) -> None:
    """Make this database's device keys now (off the GUI thread) and give them the computer's name."""
    from db.sync import identity

    try:
        identity.identity(store)
        if computer_name and identity.name_is_default(store):
            identity.rename_device(store, computer_name)
    except Exception:  # noqa: BLE001 - an old or read-only file still opens; the sync screen says more
        log.warning("device identity of %s not settled", store.path, exc_info=True)


class Shell(QObject):
    """The running application: one AppContext, one main window."""

    def __init__(self, app: QApplication, settings: Settings | None = None, *,
                 tasks: TaskRunner | None = None, errors: ErrorReporter | None = None,
                 demo_households: int = DEMO_HOUSEHOLDS, lang: str | None = None):
        super().__init__()
        self.app = app
        self.settings = settings or Settings()
        self.errors = errors or ErrorReporter()
        self.tasks = tasks or TaskRunner(self.errors)
        if self.tasks.errors is None:
            self.tasks.errors = self.errors
        self.events = Events()
        self.demo_households = demo_households
        self.ctx: AppContext | None = None
        self.window = None
        self.startup_failed = False
        self.starting = None  # the early window (desktop/first_start.py)
        self.first_start_dialog = None
        self.new_register_dialog = None
        self._after_install: Callable[[], None] | None = None
        language = lang if lang in i18n.LANGUAGES else self.settings.language
        i18n.set_language(language)
        appearance.register_fonts()
        appearance.apply_style(app)
        appearance.apply_text_scale(self.settings.text_scale, app)
        appearance.load_qt_translations(app, language)
        self.settings.sig_text_scale_changed.connect(self._apply_text_scale)
        self.settings.sig_language_changed.connect(self._apply_language)
        from desktop.accounts_startup import AccountsGate

        self.accounts = AccountsGate(self)  # login before an encrypted database opens, idle lock

    # -- start-up -------------------------------------------------------------------------------
    def start(self, db_path: str | Path | None = None, on_ready: Callable[[], None] | None = None) -> None:
        """Open the database in the background, then show the main window."""
        self._on_ready = on_ready
        if db_path is not None:
            path = Path(db_path)
        else:
            last = self.settings.last_db_path
            path = Path(last) if last and Path(last).exists() else default_db_path()
            if path == default_db_path() and not path.exists():
                self._first_start()  # nothing to open yet: ask what to start with
                return
        self._show_starting(_("Opening {name}…").format(name=path.name))
        self._open(path, create=True, on_opened=self._install_store, on_failed=self._startup_open_failed)

    def _open(self, path: Path, *, create: bool, on_opened, on_failed, demo_households: int = 0,
              prepare: Callable | None = None) -> None:
        title = (_("Creating a demo community on first start…") if demo_households
                 else _("Opening {name}…").format(name=path.name))
        retry = lambda: self._open(path, create=create, on_opened=on_opened, on_failed=on_failed,  # noqa: E731
                                   demo_households=demo_households)
        on_failed = self.accounts.wrap_failed(path, on_failed, retry)
        self.tasks.run(open_store_task(path, create=create, demo_households=demo_households,
                                       user=self.settings.operator_name or None, prepare=prepare,
                                       computer_name=self.settings.device_name),
                       title=title, on_done=on_opened, on_error=on_failed, parent=self.window,
                       cancellable=bool(demo_households))

    # -- the first start (desktop/first_start.py) ------------------------------------------------
    def _show_starting(self, text: str) -> None:
        """A small window at once, until the main window (or a dialog) is up."""
        from desktop.splash import StartingWindow, take_early_window

        if self.window is None and self.starting is None:
            self.starting = take_early_window() or StartingWindow(text)
            self.starting.text.setText(text)
            self.starting.show()

    def _hide_starting(self) -> None:
        from desktop.splash import take_early_window

        early = take_early_window()
        if early is not None:
            early.close()
            early.deleteLater()
        if self.starting is not None:
            self.starting.close()
            self.starting.deleteLater()
            self.starting = None

    def _first_start(self) -> None:
        from desktop.first_start import FirstStartDialog

        self._hide_starting()
        dialog = FirstStartDialog(self.window)
        dialog.set_folder(default_db_path().parent)
        dialog.sig_chosen.connect(self._first_start_chosen)
        dialog.rejected.connect(lambda: self._first_start_closed(dialog))
        self.first_start_dialog = dialog
        dialog.open()

    def _first_start_closed(self, dialog) -> None:
        if dialog.choice is None and self.ctx is None:  # closed without a choice: nothing to show
            self.startup_failed = False
            self.app.exit(0)

    def _first_start_chosen(self, choice: str) -> None:
        from desktop import first_start

        if choice == first_start.DEMO:
            path = first_start.demo_db_path(default_db_path().parent)
            if path.exists():
                self._open(path, create=False, on_opened=self._install_store, on_failed=self._startup_open_failed)
            else:
                self._open(path, create=True, demo_households=self.demo_households, on_opened=self._install_store,
                           on_failed=self._startup_open_failed)
        elif choice == first_start.BLANK:
            self.start_blank_register(None, on_cancel=self._first_start)
        else:
            self.start_handover(None)

    def start_blank_register(self, parent: QWidget | None = None, *, on_cancel: Callable | None = None):
        """Ask for the community, its grids and compounds, and open a new register with them."""
        from db.register.community import start_register
        from desktop.first_start import NewRegisterDialog

        dialog = NewRegisterDialog(parent, worker=self.settings.operator_name)
        self.new_register_dialog = dialog

        def accepted() -> None:
            values = dialog.values()
            path = self._free_register_path(parent)
            if path is None:
                return
            self._open(path, create=True, prepare=lambda store: start_register(store, **values),
                       on_opened=self._install_store,
                       on_failed=(self._startup_open_failed if self.ctx is None
                                  else lambda exc: self.errors.show(exc, parent)))

        dialog.accepted.connect(accepted)
        if on_cancel is not None:
            dialog.rejected.connect(on_cancel)
        dialog.open()
        return dialog

    def start_handover(self, parent: QWidget | None = None) -> None:
        """A new, empty register, then 同步与交接 → 导入 to choose and check the handover bundle."""
        path = self._free_register_path(parent)
        if path is None:
            return
        self._after_install = self._show_handover_import
        self._open(path, create=True, on_opened=self._install_store,
                   on_failed=(self._startup_open_failed if self.ctx is None
                              else lambda exc: self.errors.show(exc, parent)))

    def _show_handover_import(self) -> None:
        window = self.window
        window.show_screen("sync")
        screen = window.get_screen("sync")
        tab = getattr(screen, "import_tab", None)
        if tab is not None:
            screen.tabs.setCurrentWidget(tab)
        window.statusBar().showMessage(
            _("Choose the handover bundle (a stick or 选择文件…), check it, then import."), 30000)

    def _free_register_path(self, parent: QWidget | None) -> Path | None:
        """griddesk.sqlite in the data folder, or (when that exists) a name the person chooses."""
        path = default_db_path()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            return path
        return self._ask_new_path(parent)

    def _startup_open_failed(self, error: BaseException) -> None:
        """Say what is wrong with the file and offer another file, a new one, or quitting."""
        self._hide_starting()
        choice = self.errors.ask(
            error, _("GridDesk needs a database file to start. What would you like to do?"),
            [_("Open another file…"), _("Create a new database…"), _("Quit")])
        path = None
        create = False
        if choice == 0:
            path = self._ask_open_path(None)
        elif choice == 1:
            path, create = self._ask_new_path(None), True
        if path is None:
            self.startup_failed = True
            if self.errors.modal:
                self.app.exit(1)
            return
        self._open(path, create=create, on_opened=self._install_store, on_failed=self._startup_open_failed)

    # -- the current database -------------------------------------------------------------------
    def _install_store(self, store) -> None:
        self.accounts.installed(store)  # who logged in (an encrypted database), the idle lock
        old = self.ctx.store if self.ctx is not None else None
        if old is not None and old is not store:
            self._close_store(old)
        store.activate()
        self.tasks.io_databases = lambda: [self.ctx.store.db] if self.ctx is not None else []
        if self.ctx is None:
            self.ctx = AppContext(store=store, tasks=self.tasks, errors=self.errors, settings=self.settings,
                                  events=self.events, user=store.user, shell=self)
        else:
            self.ctx.store, self.ctx.user = store, store.user
        self.settings.set_last_db_path(str(store.path))
        self.rebuild_window()
        self.events.sig_store_changed.emit(store)
        self._daily_backup(store)
        if self._after_install is not None:
            after, self._after_install = self._after_install, None
            after()
        settle_garbage_collector()
        if self._on_ready is not None:
            ready, self._on_ready = self._on_ready, None
            ready()

    def _close_store(self, store) -> None:
        # The writer closes its connection after the tasks already queued (a restore queued
        # next runs after it); the GUI thread's connection closes now.
        self.tasks.call_on_writer(store.db.close, wait=False)
        store.close()

    def _daily_backup(self, store) -> None:
        from db.backup import daily_backup

        def done(path) -> None:
            if path is not None:
                self.events.sig_backup_made.emit(path)

        # A chore, not something to wait for: no dialog, a note in the status bar.
        self.ctx.run_chore(lambda state: daily_backup(store), note=_("Making the daily backup…"),
                           on_done=done, parent=self.window)

    def _ask_open_path(self, parent: QWidget | None) -> Path | None:
        start = str(self.ctx.store.path.parent) if self.ctx else str(default_db_path().parent)
        name, _filter = QFileDialog.getOpenFileName(parent, _("Open a database file"), start, _(FILE_FILTER_MSG))
        return Path(name) if name else None

    def _ask_new_path(self, parent: QWidget | None) -> Path | None:
        start = str((self.ctx.store.path.parent if self.ctx else default_db_path().parent) / "griddesk-new.sqlite")
        name, _filter = QFileDialog.getSaveFileName(parent, _("Create a new database file"), start,
                                                    _(FILE_FILTER_MSG))
        if not name:
            return None
        path = Path(name)
        if not path.suffix:
            path = path.with_suffix(".sqlite")
        return path

    def open_path(self, path: str | Path, parent: QWidget | None = None) -> None:
        """Open an existing database file instead of the current one (nothing written if it is bad)."""
        path = Path(path)
        if self.ctx is not None and path.resolve() == self.ctx.store.path.resolve():
            return
        if not path.exists():
            self.errors.show(DatabaseOpenError(_("“{path}” does not exist.").format(path=path)), parent)
            return
        self._open(path, create=False, on_opened=self._install_store,
                   on_failed=lambda exc: self.errors.show(exc, parent))

    def create_path(self, path: str | Path, parent: QWidget | None = None) -> None:
        """Create a new, empty database file and switch to it."""
        path = Path(path)
        if path.exists() and path.stat().st_size:
            self.errors.show(DatabaseOpenError(
                _("“{path}” already exists. Choose another name for the new database.").format(path=path)), parent)
            return
        self._open(path, create=True, on_opened=self._install_store,
                   on_failed=lambda exc: self.errors.show(exc, parent))

    def choose_and_open(self, parent: QWidget | None = None) -> None:
        path = self._ask_open_path(parent)
        if path is not None:
            self.open_path(path, parent)

    def choose_and_create(self, parent: QWidget | None = None) -> None:
        path = self._ask_new_path(parent)
        if path is not None:
            self.create_path(path, parent)

    def backup_now(self, parent: QWidget | None = None):
        from desktop.backups import backup_now

        return backup_now(self.ctx, parent)

    def restore_backup(self, backup: str | Path, parent: QWidget | None = None) -> None:
        """Replace the open database by a backup (the current state is backed up first)."""
        from db.backup import restore
        from db.store import Store

        store = self.ctx.store
        path, user = store.path, store.user
        self._close_store(store)

        def work(state):
            restore(path, Path(backup), user=user)
            return Store(path, user=user, create=False)

        def failed(exc: BaseException) -> None:
            self.errors.show(exc, parent)
            # Go on with the file as it is (restore changes nothing when it fails).
            self._open(path, create=False, on_opened=self._install_store,
                       on_failed=lambda e: self.errors.show(e, parent))

        self.tasks.run(work, title=_("Restoring the backup…"), on_done=self._install_store, on_error=failed,
                       parent=parent, cancellable=False)

    # -- window and appearance ------------------------------------------------------------------
    def rebuild_window(self) -> None:
        """(Re)create the main window, e.g. after another database or language was chosen."""
        from desktop.main_window import MainWindow

        old = self.window
        if old is not None:
            old.save_state()
        self.window = MainWindow(self.ctx)
        self.window.show()  # before the old one closes, so the app never has no window
        self._hide_starting()
        if old is not None:
            old.closing_for_rebuild = True
            old.close()
            old.deleteLater()
        # Until the first main window is up (progress and error dialogs at start-up), closing a
        # dialog must not end the application.
        self.app.setQuitOnLastWindowClosed(True)

    def _apply_text_scale(self, percent: int) -> None:
        appearance.apply_text_scale(percent, self.app)

    def _apply_language(self, lang: str) -> None:
        i18n.set_language(lang)
        appearance.load_qt_translations(self.app, lang)
        if self.ctx is not None:
            # Rebuild after the slot that asked for it has returned.
            QTimer.singleShot(0, self.rebuild_window)

    def shutdown(self) -> None:
        if self.window is not None:
            self.window.save_state()
        self.settings.sync()
        self.tasks.cancel_all()
        if self.ctx is not None:
            self.tasks.call_on_writer(self.ctx.store.db.close, wait=False)
        self.tasks.shutdown(wait=True)
        if self.ctx is not None:
            self.ctx.store.close()


def settle_garbage_collector() -> None:
    """Collect once, freeze what start-up made, and leave full collections to idle moments.

    A full collection walks every tracked object: with a large register in memory it takes
    ~100 ms, and run automatically it lands in the middle of scrolling. Young generations stay
    automatic (they are cheap); full collections run from IdleCollector when nobody is typing or
    scrolling.
    """
    gc.collect()
    gc.freeze()
    young0, young1, _full = gc.get_threshold()
    gc.set_threshold(young0, young1, 1_000_000_000)


class IdleCollector(QObject):
    """Runs a full garbage collection every minute or so, when the user has been idle for 3 s."""

    IDLE_S = 3.0
    EVERY_MS = 60_000
    _INPUT = {QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel}

    def __init__(self, app: QApplication):
        super().__init__(app)
        self.last_input = time.monotonic()
        app.installEventFilter(self)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect_if_idle)
        self.timer.start(self.EVERY_MS)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() in self._INPUT:
            self.last_input = time.monotonic()
        return False

    def collect_if_idle(self) -> None:
        if time.monotonic() - self.last_input >= self.IDLE_S:
            gc.collect()
        else:
            QTimer.singleShot(int(self.IDLE_S * 1000), self.collect_if_idle)


def main(db_path: str | None = None, lang: str | None = None) -> int:
    """Run the desktop application; returns the exit code. lang overrides the saved language
    for this run (griddesk --lang en)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName("GridDesk")
    app.setApplicationName("GridDesk")
    app.setApplicationDisplayName(_("GridDesk"))
    app.setQuitOnLastWindowClosed(False)
    shell = Shell(app, lang=lang)
    IdleCollector(app)
    app.setApplicationDisplayName(_("GridDesk"))
    shell.errors.install_excepthook()
    on_ready = None
    if os.environ.get("GRIDDESK_EXIT_WHEN_SHOWN"):
        # bench/bench_core.py times process start to main window shown.
        def on_ready() -> None:
            def report() -> None:
                print("WINDOW_SHOWN", flush=True)
                app.quit()

            QTimer.singleShot(0, report)
    shell.start(db_path, on_ready=on_ready)
    code = app.exec()
    shell.shutdown()
    return (code or 1) if shell.startup_failed else code
