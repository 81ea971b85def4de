"""同步与交接: one screen, five tabs."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from db.sync import hub_client, identity
from i18n import _
from views.sync.conflicts import ConflictsTab
from views.sync.devices import DeviceNameDialog, DevicesTab, HistoryTab
from views.sync.office import OfficeTab
from views.sync.review import HubReviewTab
from views.sync.transfer import ExportTab, ImportTab
from views.widgets import heading


class SyncScreen(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.addWidget(heading(_("Sync and handover")))
        self.tabs = QTabWidget()
        self.export_tab = ExportTab(ctx)
        self.import_tab = ImportTab(ctx)
        self.conflicts_tab = ConflictsTab(ctx)
        self.history_tab = HistoryTab(ctx)
        self.devices_tab = DevicesTab(ctx)
        self.tabs.addTab(self.export_tab, _("Export to USB stick"))
        self.tabs.addTab(self.import_tab, _("Import"))
        self.tabs.addTab(self.conflicts_tab, _("Conflicts"))
        self.tabs.addTab(self.history_tab, _("History"))
        self.tabs.addTab(self.devices_tab, _("This device and trusted devices"))
        self.office_tab = OfficeTab(ctx)
        self.tabs.addTab(self.office_tab, _("Office sync"))
        self.office_tab.sig_synced.connect(lambda _r: self._after_import())
        # 办公室待审: on the office's administrator computer only (enrolled at the hub as admin).
        self.review_tab = HubReviewTab(ctx)
        self.tabs.addTab(self.review_tab, _("Waiting for the office's decision"))
        self.review_tab.sig_decided.connect(lambda _r: (self.office_tab.refresh(), self._after_import()))
        self.tabs.currentChanged.connect(self._tab_changed)
        layout.addWidget(self.tabs, 1)
        self.export_tab.sig_exported.connect(lambda _e: self.history_tab.refresh())
        self.import_tab.sig_imported.connect(lambda _s: self._after_import())
        self.import_tab.sig_receipt_written.connect(lambda _r: self.history_tab.refresh())
        self.devices_tab.revoke_button.clicked.connect(self.export_tab.refresh)
        self.ctx.events.sig_data_changed.connect(self._data_changed)
        self._update_conflict_tab_title()
        self._update_review_tab()
        self.name_dialog: DeviceNameDialog | None = None
        self._asked_name = False

    def activated(self) -> None:
        self.refresh()
        if not self._asked_name and identity.name_is_default(self.ctx.store):
            self.ask_name()

    def ask_name(self) -> DeviceNameDialog:
        """Ask for a name for this computer (window-modal, not blocking); once per session."""
        self._asked_name = True
        self.name_dialog = DeviceNameDialog(self.ctx, self)
        self.name_dialog.finished.connect(lambda _r: self.devices_tab.refresh())
        self.name_dialog.open()
        return self.name_dialog

    def refresh(self) -> None:
        self.export_tab.refresh()
        self.import_tab.refresh_found()
        self.conflicts_tab.refresh()
        self.history_tab.refresh()
        self.devices_tab.refresh()
        self._update_conflict_tab_title()
        self._update_review_tab()

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.review_tab:
            self.review_tab.load(quiet=True)

    def _update_review_tab(self) -> None:
        store = self.ctx.store
        visible = store is not None and hub_client.is_office_admin(store)
        self.tabs.setTabVisible(self.tabs.indexOf(self.review_tab), visible)

    def _after_import(self) -> None:
        self._update_review_tab()
        self.history_tab.refresh()
        self.conflicts_tab.refresh()
        self.devices_tab.refresh()
        self.export_tab.refresh()
        self._update_conflict_tab_title()

    def _data_changed(self, _changes) -> None:
        if self.isVisible():
            self.conflicts_tab.refresh()
            self._update_conflict_tab_title()

    def _update_conflict_tab_title(self) -> None:
        n = len(self.conflicts_tab.model.items)
        index = self.tabs.indexOf(self.conflicts_tab)
        self.tabs.setTabText(index, _("Conflicts ({n})").format(n=n) if n else _("Conflicts"))
