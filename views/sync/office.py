"""办公室同步: enrol this laptop at the office hub, sync now, automatic sync, status (tab and status bar).

The sync runs as a background task (never on the GUI thread): on a timer (the interval with
jitter, see db.sync.hub_client.due), when the network comes back (QNetworkInformation), and on
"Sync now". Failures back off; the status bar says when the last sync was, how many changes
wait, and warns after a few days without a sync. Conflicts land in the same review queue as
those from USB sticks.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from db.sync import hub_client
from db.sync.hub_protocol import show_pin
from i18n import _

CHECK_EVERY_MS = 30_000


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else _("not yet")


def status_line(status: dict) -> str:
    """One line for the status bar."""
    if not status.get("enrolled"):
        return ""
    parts = [_("Office sync: {when}").format(when=_when(status["last_sync_at"]))]
    if status["waiting"]:
        parts.append(_("{n} changes waiting").format(n=f"{status['waiting']:,}"))
    if status["days_since_sync"] is not None and status["warn"]:
        parts.append(_("⚠ {days} days without office sync").format(days=status["days_since_sync"]))
    elif status["last_sync_at"] is None:
        parts.append(_("⚠ not synced yet"))
    if status["failures"]:
        parts.append(_("retry {when}").format(when=_when(status["next_attempt_at"])[-5:]))
    return " · ".join(parts)


class OfficeSync(QObject):
    """The one scheduler per window: timer, network changes, one sync at a time."""

    sig_synced = Signal(object)  # SyncResult
    sig_failed = Signal(object)  # the error
    sig_status = Signal()

    def __init__(self, ctx, parent: QObject | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.running = False
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_EVERY_MS)
        self.timer.timeout.connect(self.maybe_sync)
        self.timer.start()
        self._network = None
        try:
            from PySide6.QtNetwork import QNetworkInformation

            if QNetworkInformation.loadDefaultBackend() and QNetworkInformation.instance() is not None:
                self._network = QNetworkInformation.instance()
                self._network.reachabilityChanged.connect(self._reachability)
        except (ImportError, RuntimeError):  # no backend on this system: the timer alone
            self._network = None

    def _reachability(self, reachability) -> None:
        from PySide6.QtNetwork import QNetworkInformation

        if reachability in (QNetworkInformation.Reachability.Online, QNetworkInformation.Reachability.Site,
                            QNetworkInformation.Reachability.Local):
            self.sync_now(automatic=True)

    def maybe_sync(self) -> None:
        store = self.ctx.store
        if store is not None and not self.running and hub_client.due(store):
            self.sync_now(automatic=True)

    def sync_now(self, *, automatic: bool = False, parent: QWidget | None = None):
        if self.running or self.ctx.store is None or hub_client.link(self.ctx.store) is None:
            return None
        self.running = True
        store = self.ctx.store
        self.sig_status.emit()

        def work(state):
            def progress(phase, done, total):
                state.set_progress(done, total, _("Sending changes…") if phase == "push" else _("Receiving…"))
            return hub_client.sync(store, progress=progress, cancelled=state.is_cancelled)

        def done(result):
            self.running = False
            self.ctx.data_changed(result.changes)
            self.sig_synced.emit(result)
            self.sig_status.emit()

        def failed(error):
            self.running = False
            self.sig_failed.emit(error)
            self.sig_status.emit()
            if not automatic:
                self.ctx.errors.show(error, parent)

        def cancelled():
            self.running = False
            self.sig_status.emit()

        if automatic:
            # Quietly: a note in the status bar, no dialog; a failure only backs off (shown in the status).
            clear = self.ctx.events.show_note(_("Syncing with the office…"))

            def done_quiet(result):
                clear()
                done(result)

            def failed_quiet(error):
                clear()
                failed(error)
            return self.ctx.tasks.run(work, title=_("Office sync"), on_done=done_quiet, on_error=failed_quiet,
                                      on_cancel=lambda: (clear(), cancelled()), cancellable=False,
                                      show_progress=False)
        return self.ctx.tasks.run(work, title=_("Syncing with the office"), on_done=done, on_error=failed,
                                  on_cancel=cancelled, parent=parent)


class OfficeStatusLabel(QLabel):
    """The status bar's line about office sync (hidden while the laptop is not enrolled)."""

    def __init__(self, ctx, office: OfficeSync, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        office.sig_status.connect(self.refresh)
        self.timer = QTimer(self)
        self.timer.setInterval(60_000)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        ctx.events.sig_data_changed.connect(lambda _c: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        store = self.ctx.store
        status = hub_client.status(store) if store is not None else {"enrolled": False}
        text = status_line(status)
        self.setText(text)
        self.setVisible(bool(text))
        warn = status.get("enrolled") and (status.get("warn") or status.get("failures"))
        self.setStyleSheet("color: #b45309;" if warn else "")


def install(ctx, window) -> OfficeSync:
    """Give a main window its office-sync scheduler and status-bar line."""
    office = OfficeSync(ctx, window)
    ctx.office_sync = office  # the 办公室同步 tab uses the same scheduler
    window.office_status = OfficeStatusLabel(ctx, office, window)
    window.statusBar().addPermanentWidget(window.office_status)
    return office


class OfficeTab(QWidget):
    """The 办公室同步 tab of 同步与交接."""

    sig_synced = Signal(object)

    def __init__(self, ctx, office: OfficeSync | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.office = office or getattr(ctx, "office_sync", None) or OfficeSync(ctx, self)
        layout = QVBoxLayout(self)
        intro = QLabel(_("On the office network this laptop syncs with the office hub by itself: it sends its "
                         "changes and receives those of its grids. USB sticks keep working alongside."))
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.enrol_box = QGroupBox(_("Enrol this laptop"))
        form = QVBoxLayout(self.enrol_box)
        hint = QLabel(_("Paste the enrolment code the office gave you (it starts with “griddesk-hub://”; the "
                        "office can also show it as a QR code)."))
        hint.setWordWrap(True)
        form.addWidget(hint)
        row = QHBoxLayout()
        self.code = QLineEdit()
        self.code.setPlaceholderText("griddesk-hub://192.168.1.10:8443?pin=…&code=XXXX-XXXX-XXXX")
        self.enrol_button = QPushButton(_("Enrol"))
        self.enrol_button.clicked.connect(self.enrol)
        row.addWidget(self.code, 1)
        row.addWidget(self.enrol_button)
        form.addLayout(row)
        layout.addWidget(self.enrol_box)

        self.hub_box = QGroupBox(_("Office hub"))
        info = QFormLayout(self.hub_box)
        self.address = QLabel()
        self.pin = QLabel()
        self.pin.setWordWrap(True)
        self.grids = QLabel()
        self.role = QLabel()
        self.last = QLabel()
        self.waiting = QLabel()
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.interval = QSpinBox()
        self.interval.setRange(1, 24 * 60)
        self.interval.setSuffix(_(" min"))
        self.interval.editingFinished.connect(self.save_interval)
        info.addRow(_("Address:"), self.address)
        info.addRow(_("Certificate:"), self.pin)
        info.addRow(_("Grids:"), self.grids)
        info.addRow(_("Enrolled as:"), self.role)
        info.addRow(_("Last sync:"), self.last)
        info.addRow(_("Waiting:"), self.waiting)
        info.addRow(_("Sync every:"), self.interval)
        info.addRow("", self.problem)
        buttons = QHBoxLayout()
        self.sync_button = QPushButton(_("Sync now"))
        self.sync_button.clicked.connect(self.sync_now)
        self.forget_button = QPushButton(_("Leave the office hub…"))
        self.forget_button.clicked.connect(self.forget)
        buttons.addWidget(self.sync_button)
        buttons.addStretch(1)
        buttons.addWidget(self.forget_button)
        info.addRow(buttons)
        layout.addWidget(self.hub_box)
        self.result = QLabel()
        self.result.setWordWrap(True)
        layout.addWidget(self.result)
        layout.addStretch(1)
        self.office.sig_status.connect(self.refresh)
        self.office.sig_synced.connect(self._synced)
        self.office.sig_failed.connect(self._failed)
        self.refresh()

    def refresh(self) -> None:
        store = self.ctx.store
        status = hub_client.status(store)
        enrolled = status.get("enrolled", False)
        self.enrol_box.setVisible(not enrolled)
        self.hub_box.setVisible(enrolled)
        if not enrolled:
            return
        self.address.setText(status["hub_name"] or status["url"])
        if status["hub_name"]:
            self.address.setText(f"{status['hub_name']} ({status['url']})")
        self.pin.setText(_("pinned SHA-256 {pin}…").format(pin=show_pin(status["pin"])[:23]))
        grids = status["grids"] or ""
        self.grids.setText(_("all grids") if grids == "*" else _("{n} grid(s)").format(
            n=len([g for g in grids.split(",") if g])))
        from db.accounts.session import ROLE_LABELS

        role = ROLE_LABELS.get(status["role"])  # the hub's roles are the accounts' roles
        self.role.setText(_(role) if role else _("not known until the first sync"))
        last = _when(status["last_sync_at"])
        if status["days_since_sync"] is not None and status["warn"]:
            last += "  " + _("⚠ {days} days ago").format(days=status["days_since_sync"])
        self.last.setText(last)
        self.waiting.setText(_("{n} of this laptop's changes not yet at the office").format(
            n=f"{status['waiting']:,}"))
        if not self.interval.hasFocus():
            self.interval.setValue(status["interval_min"])
        if status["failures"]:
            self.problem.setText(_("The last try failed ({error}); next try at {when}.").format(
                error=status["last_error"], when=_when(status["next_attempt_at"])))
        else:
            self.problem.setText("")
        self.sync_button.setEnabled(not self.office.running)
        self.sync_button.setText(_("Syncing…") if self.office.running else _("Sync now"))

    def enrol(self) -> None:
        text = self.code.text().strip()
        if not text:
            self.ctx.errors.show(_("Paste the enrolment code first."), self)
            return
        store = self.ctx.store

        def work(state):
            state.set_progress(0, 0, _("Checking the office hub's certificate…"))
            return hub_client.enrol(store, text)

        def done(_link):
            self.code.clear()
            self.result.setText(_("Enrolled. The first sync starts now."))
            self.refresh()
            self.office.sync_now(parent=self)

        self.ctx.tasks.run(work, title=_("Enrolling"), on_done=done,
                           on_error=lambda e: self.ctx.errors.show(e, self), parent=self)

    def sync_now(self) -> None:
        self.office.sync_now(parent=self)
        self.refresh()

    def _synced(self, result) -> None:
        parts = [_("Sent {pushed}, received {pulled} changes.").format(pushed=result.pushed, pulled=result.pulled)]
        if result.left:
            parts.append(_("{n} records moved out of this laptop's grids and were removed here.").format(n=result.left))
        if result.waiting_leaves:
            parts.append(_("{n} records that moved away are kept until this laptop's changes to them reach the "
                           "office.").format(n=result.waiting_leaves))
        if result.review:
            parts.append(_("{n} changes to records no longer in this laptop's grids went to the office for "
                           "review.").format(n=result.review))
        if result.conflicts:
            parts.append(_("{n} conflicts wait in the Conflicts tab.").format(n=result.conflicts))
        if result.epoch_changed:
            parts.append(_("The office hub was restored from a backup; this laptop sent again what it lacked."))
        self.result.setText(" ".join(parts))
        self.refresh()
        self.sig_synced.emit(result)

    def _failed(self, error) -> None:
        self.result.setText(str(error))

    def save_interval(self) -> None:
        hub_client.set_interval(self.ctx.store, self.interval.value())
        self.refresh()

    def forget(self) -> None:
        answer = QMessageBox.question(self, _("Leave the office hub"), _(
            "This laptop stops syncing with the office hub. Its data stays here. To sync again, the office makes a "
            "new enrolment code. Leave the hub?"))
        if answer == QMessageBox.StandardButton.Yes:
            hub_client.forget(self.ctx.store)
            self.refresh()
