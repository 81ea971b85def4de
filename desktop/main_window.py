"""The main window: navigation on the left, the current screen on the right, menus, status bar."""

from __future__ import annotations

import logging
import traceback

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

import views
from desktop.appearance import font_notifier
from desktop.backups import backup_time, format_time
from desktop.settings import TEXT_SCALES
from i18n import _, language
from views.widgets import scaled_font

log = logging.getLogger(__name__)

APP_VERSION = "0.1.0"


def app_title() -> str:
    """The window title names the app in both scripts, the user's language first."""
    return "GridDesk 网格台账" if language() == "en" else "网格台账 GridDesk"


class ScreenError(QWidget):
    """Shown instead of a screen that could not be created (the rest of the app goes on)."""

    def __init__(self, label: str, error: BaseException, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 28, 32, 28)
        text = QLabel(_("The screen “{screen}” could not be opened: {error}").format(screen=label, error=error), self)
        text.setWordWrap(True)
        layout.addWidget(text)
        layout.addStretch(1)


class MainWindow(QMainWindow):
    """Navigation list + stacked screens (created on first show) + menus + status bar."""

    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.closing_for_rebuild = False
        self.keys = [key for key, _label, _spec in views.SCREENS]
        self.screens: dict[str, QWidget] = {}
        self.setWindowTitle(app_title())
        self.setMinimumSize(QSize(720, 500))

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(1)
        splitter.setObjectName("mainSplitter")
        splitter.addWidget(self._build_sidebar())
        self.stack = QStackedWidget(splitter)
        for _key in self.keys:
            self.stack.addWidget(QWidget(self.stack))  # replaced by the real screen on first show
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter
        self.setCentralWidget(_with_banner(ctx, splitter, self))

        self._build_menus()
        self._build_status_bar()
        ctx.events.sig_backup_made.connect(self.update_status)
        ctx.events.sig_store_changed.connect(self.update_status)
        ctx.settings.sig_text_scale_changed.connect(self._text_scale_changed)
        font_notifier().sig_font_changed.connect(self._refresh_fonts)
        self.update_status()
        self._restore_state()

    # -- building -------------------------------------------------------------------------------
    def _build_sidebar(self) -> QWidget:
        sidebar = QWidget(self)
        sidebar.setObjectName("sidebar")
        layout = QVBoxLayout(sidebar)
        layout.setContentsMargins(0, 18, 0, 12)
        layout.setSpacing(2)
        self.title_label = QLabel(_("GridDesk"), sidebar)
        self.title_label.setObjectName("appTitle")
        self.subtitle_label = QLabel("GridDesk" if language() != "en" else "网格台账", sidebar)
        self.subtitle_label.setObjectName("appSubtitle")
        for label in (self.title_label, self.subtitle_label):
            label.setContentsMargins(18, 0, 18, 0)
            layout.addWidget(label)
        layout.addSpacing(14)
        self.nav = QListWidget(sidebar)
        self.nav.setObjectName("navigation")
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.nav.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for index, (key, label, _spec) in enumerate(views.SCREENS):
            item = QListWidgetItem(_(label), self.nav)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setToolTip(_("{screen} (Ctrl+{n})").format(screen=_(label), n=index + 1))
        self.nav.currentRowChanged.connect(self._row_changed)
        layout.addWidget(self.nav, 1)
        self.sidebar = sidebar
        self._refresh_fonts()
        return sidebar

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(_("&File"))
        self.action_open = QAction(_("Open database…"), self)
        self.action_open.setShortcut(QKeySequence.StandardKey.Open)
        self.action_open.triggered.connect(lambda: self._shell_call("choose_and_open"))
        self.action_new = QAction(_("New database…"), self)
        # Ctrl+N belongs to the households screen (new household); a second Ctrl+N here would make
        # both ambiguous, so neither would work.
        self.action_new.setShortcut(QKeySequence("Ctrl+Shift+N"))
        self.action_new.triggered.connect(lambda: self._shell_call("choose_and_create"))
        self.action_backup = QAction(_("Back up now"), self)
        self.action_backup.triggered.connect(self._backup_now)
        self.action_quit = QAction(_("Quit"), self)
        self.action_quit.setShortcut(QKeySequence("Ctrl+Q"))
        self.action_quit.triggered.connect(self.close)
        file_menu.addAction(self.action_open)
        file_menu.addAction(self.action_new)
        file_menu.addSeparator()
        # Ledger import/export (views/ledger): also reachable from the households screen.
        self.action_import = QAction(_("Import a ledger…"), self)
        self.action_import.setShortcut(QKeySequence("Ctrl+Shift+I"))
        self.action_import.triggered.connect(self._import_ledger)
        self.action_export = QAction(_("Export to Excel…"), self)
        self.action_export.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.action_export.triggered.connect(self._export_ledger)
        file_menu.addAction(self.action_import)
        file_menu.addAction(self.action_export)
        file_menu.addSeparator()
        file_menu.addAction(self.action_backup)
        file_menu.addSeparator()
        self._add_accounts_actions(file_menu)
        file_menu.addAction(self.action_quit)

        view_menu = bar.addMenu(_("&View"))
        self.screen_actions: list[QAction] = []
        self.screen_group = QActionGroup(self)  # exclusive: the current screen is checked
        for index, (key, label, _spec) in enumerate(views.SCREENS):
            action = QAction(_(label), self, checkable=True)
            self.screen_group.addAction(action)
            if index < 9:
                action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _checked=False, k=key: self.show_screen(k))
            view_menu.addAction(action)
            self.addAction(action)  # shortcuts work even with the menu bar hidden
            self.screen_actions.append(action)
        view_menu.addSeparator()
        size_menu = view_menu.addMenu(_("Text size"))
        self.scale_group = QActionGroup(self)
        self.scale_actions: dict[int, QAction] = {}
        for percent in TEXT_SCALES:
            action = QAction(f"{percent}%", self, checkable=True)
            action.setChecked(percent == self.ctx.settings.text_scale)
            action.triggered.connect(lambda _checked=False, p=percent: self.ctx.settings.set_text_scale(p))
            self.scale_group.addAction(action)
            size_menu.addAction(action)
            self.scale_actions[percent] = action

        help_menu = bar.addMenu(_("&Help"))
        _first_day_actions(self, file_menu, help_menu)
        self.action_about = QAction(_("About GridDesk"), self)
        self.action_about.triggered.connect(self._about)
        help_menu.addAction(self.action_about)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.db_label = QLabel(self)
        self.node_label = QLabel(self)
        self.backup_label = QLabel(self)
        for label in (self.db_label, self.node_label, self.backup_label):
            status.addPermanentWidget(label)
        self._shown_note: str | None = None
        from views.sync import office as office_sync

        self.office_sync = office_sync.install(self.ctx, self)  # office hub: timer and status line
        self.ctx.events.sig_notes_changed.connect(self._show_notes)
        self._show_notes()  # a chore may already be running (the window is rebuilt)

    def _show_notes(self) -> None:
        """The newest note about a background chore, until it is over (ctx.run_chore)."""
        status = self.statusBar()
        notes = self.ctx.events.notes
        if notes:
            self._shown_note = notes[-1]
            status.showMessage(self._shown_note)
        elif self._shown_note is not None:
            if status.currentMessage() == self._shown_note:  # not replaced by another message
                status.clearMessage()
            self._shown_note = None

    # -- screens --------------------------------------------------------------------------------
    def show_screen(self, key: str) -> None:
        if key not in self.keys:
            raise KeyError(key)
        row = self.keys.index(key)
        if self.nav.currentRow() != row:
            self.nav.setCurrentRow(row)  # -> _row_changed
        else:
            self._row_changed(row)

    def current_key(self) -> str:
        return self.keys[self.stack.currentIndex()]

    def get_screen(self, key: str) -> QWidget:
        """The screen widget for key, created now if it was not shown before."""
        if key not in self.screens:
            index = self.keys.index(key)
            _key, label, spec = views.SCREENS[index]
            try:
                widget = views.screen_class(spec)(self.ctx, self.stack)
            except Exception as exc:  # noqa: BLE001 - one broken screen must not stop the app
                log.error("screen %s failed: %s", key, traceback.format_exc())
                widget = ScreenError(_(label), exc, self.stack)
            placeholder = self.stack.widget(index)
            self.stack.removeWidget(placeholder)
            placeholder.deleteLater()
            self.stack.insertWidget(index, widget)
            self.screens[key] = widget
        return self.screens[key]

    def _row_changed(self, row: int) -> None:
        if row < 0:
            return
        key = self.keys[row]
        widget = self.get_screen(key)
        self.stack.setCurrentWidget(widget)
        self.screen_actions[row].setChecked(True)
        self.ctx.settings.set_last_screen(key)
        activated = getattr(widget, "activated", None)
        if callable(activated):
            try:
                activated()
            except Exception as exc:  # noqa: BLE001
                self.ctx.errors.show(exc, self)

    # -- status ---------------------------------------------------------------------------------
    def update_status(self, *_args) -> None:
        store = self.ctx.store
        from db.backup import latest_backup

        self.db_label.setText(_("Database: {name}").format(name=store.path.name))
        self.db_label.setToolTip(str(store.path))
        from desktop.first_start import device_text

        self.node_label.setText(_("Device: {node}").format(node=store.node_id[:8]))
        self.node_label.setToolTip(store.node_id)
        try:  # this computer's one name and fingerprint, as the sync screen and device card show it
            if store.closed:  # being replaced (a restore, another file): nothing is read from it
                raise LookupError("closed")
            text, tip = device_text(store)
            self.node_label.setText(text)
            self.node_label.setToolTip(tip)
        except Exception:  # noqa: BLE001 - a file without the sync tables: the node id is all there is
            log.debug("no device identity", exc_info=True)
        latest = latest_backup(store.path)
        self.backup_label.setText(_("Last backup: {time}").format(time=format_time(backup_time(latest) if latest else None)))
        self.backup_label.setToolTip(str(latest) if latest else "")

    # -- actions --------------------------------------------------------------------------------
    def _shell_call(self, name: str) -> None:
        shell = self.ctx.shell
        if shell is not None:
            getattr(shell, name)(self)

    def _import_ledger(self) -> None:
        from views.ledger import open_import_wizard

        open_import_wizard(self.ctx, self)

    def _export_ledger(self):
        """Export what the households list shows (its search and filters), as its own button does;
        before that screen was opened, its default list: everyone living here."""
        screen = self.get_screen("households")
        browser = getattr(screen, "browser", None)
        if browser is not None and callable(getattr(browser, "export_list", None)):
            return browser.export_list()
        from views.ledger import open_export_dialog

        return open_export_dialog(self.ctx, self)

    def _add_accounts_actions(self, menu) -> None:
        """Accounts and security (views/accounts), and locking the window by hand."""
        self.action_accounts = QAction(_("Accounts and security…"), self)
        self.action_accounts.triggered.connect(self._accounts)
        self.action_lock = QAction(_("Lock"), self)
        self.action_lock.setShortcut(QKeySequence("Ctrl+L"))
        self.action_lock.setEnabled(self.ctx.store.session is not None)
        self.action_lock.triggered.connect(lambda: self.ctx.shell.accounts.lock())
        self.addAction(self.action_lock)
        self.action_audit = QAction(_("Audit trail…"), self)
        self.action_audit.triggered.connect(self._audit)
        menu.addAction(self.action_accounts)
        menu.addAction(self.action_audit)
        menu.addAction(self.action_lock)
        menu.addSeparator()

    def _accounts(self) -> None:
        from views.accounts import AccountsDialog

        AccountsDialog(self.ctx, self).exec()

    def _audit(self) -> None:
        from views.accounts import audit_window

        self._audit_window = audit_window(self.ctx, self)
        self._audit_window.show()

    def _backup_now(self) -> None:
        from desktop.backups import backup_now

        backup_now(self.ctx, parent=self)

    def _about(self) -> None:
        QMessageBox.about(self, _("About GridDesk"), _(
            "GridDesk {version}\n\nOffline ledgers for community grid workers: households, visits, meetings, "
            "volunteers, printing, and sync with the community office.").format(version=APP_VERSION))

    # -- fonts, state ---------------------------------------------------------------------------
    def _refresh_fonts(self) -> None:
        self.title_label.setFont(scaled_font(1.6, bold=True))
        self.subtitle_label.setFont(scaled_font(0.9))
        self.nav.setFont(scaled_font(1.1))
        # Wide enough for the longest label in the current language and text size.
        metrics = self.nav.fontMetrics()
        longest = max((metrics.horizontalAdvance(self.nav.item(i).text()) for i in range(self.nav.count())),
                      default=0)
        self.sidebar.setMinimumWidth(max(190, longest + 72))

    def _text_scale_changed(self, percent: int) -> None:
        action = self.scale_actions.get(percent)
        if action is not None:
            action.setChecked(True)

    def _restore_state(self) -> None:
        geometry = self.ctx.settings.window_geometry
        if geometry is None or not self.restoreGeometry(geometry):
            self._default_geometry()
        last = self.ctx.settings.last_screen
        self.show_screen(last if last in self.keys else self.keys[0])

    def _default_geometry(self) -> None:
        """First start: most of the screen, centred; a small screen (1366x768 office laptops) is
        filled, as every pixel counts there at a large text size."""
        screen = QWidget.screen(self) or QApplication.primaryScreen()
        area = screen.availableGeometry()
        if area.width() <= 1440 or area.height() <= 900:
            self.setGeometry(area)
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)
            return
        width = min(1400, max(self.minimumWidth(), int(area.width() * 0.9)))
        height = min(920, max(self.minimumHeight(), int(area.height() * 0.9)))
        self.resize(width, height)
        self.move(area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2)

    def save_state(self) -> None:
        self.ctx.settings.set_window_geometry(self.saveGeometry())
        self.ctx.settings.set_last_screen(self.current_key())
        self.ctx.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        from desktop.quit_guard import may_close

        if not self.closing_for_rebuild and not may_close(self, self.ctx.tasks):
            event.ignore()  # writes still running: closed again once they are done
            return
        if not self.closing_for_rebuild:
            self.save_state()
        super().closeEvent(event)


# -- a grid worker's first day (desktop/first_start.py) -------------------------------------------
def _with_banner(ctx, content: QWidget, window: QMainWindow) -> QWidget:
    """The demo community carries a banner above every screen; other registers show the content alone."""
    from db.register.community import is_demo
    from desktop.first_start import DemoBanner

    window.demo_banner = None
    try:
        demo = is_demo(ctx.store)
    except Exception:  # noqa: BLE001 - an old file without meta rows
        demo = False
    if not demo:
        return content
    box = QWidget(window)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    window.demo_banner = DemoBanner(ctx.shell, box)
    layout.addWidget(window.demo_banner)
    layout.addWidget(content, 1)
    return box


def _first_day_actions(window: MainWindow, file_menu, help_menu) -> None:
    from desktop import first_start

    window.action_new_register = QAction(_("Start an empty register…"), window)
    window.action_new_register.triggered.connect(lambda: window._shell_call("start_blank_register"))
    window.action_receive_handover = QAction(_("Receive a handover…"), window)
    window.action_receive_handover.triggered.connect(lambda: window._shell_call("start_handover"))
    first = file_menu.actions()[0] if file_menu.actions() else None
    file_menu.insertAction(first, window.action_new_register)
    file_menu.insertAction(first, window.action_receive_handover)
    file_menu.insertSeparator(first)
    window.action_guide = QAction(_("Getting started and keys"), window)
    window.action_guide.setShortcut(QKeySequence("F1"))
    window.action_guide.triggered.connect(lambda: first_start.show_guide(window))
    window.action_locations = QAction(_("Where data and backups live"), window)
    window.action_locations.triggered.connect(lambda: first_start.show_locations(window))
    help_menu.addAction(window.action_guide)
    help_menu.addAction(window.action_locations)
    help_menu.addSeparator()
