"""This device's identity, the trusted devices and keys (add, revoke), and the exchange history."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.sync import exchange, identity
from i18n import N_, _

DIRECTIONS = {"export": N_("written"), "import": N_("imported"), "receipt_out": N_("receipt written"),
              "receipt_in": N_("receipt received")}
KINDS = {"changes": N_("changes"), "full": N_("full handover"), "receipt": N_("receipt")}


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class DevicesTab(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        me_box = QGroupBox(_("This device"))
        form = QFormLayout(me_box)
        self.name = QLineEdit()
        save = QPushButton(_("Save name"))
        save.clicked.connect(self.save_name)
        row = QHBoxLayout()
        row.addWidget(self.name, 1)
        row.addWidget(save)
        form.addRow(_("Name:"), row)
        self.name_hint = QLabel(_("This name is made up by GridDesk. Give this computer a name others recognise "
                                  "(e.g. 张伟的笔记本 or 社区办公室): it is shown in their list of trusted devices."))
        self.name_hint.setWordWrap(True)
        self.name_hint.setStyleSheet("color: #a15c00")
        form.addRow(self.name_hint)
        self.fingerprint = QLabel()
        self.fingerprint.setTextInteractionFlags(self.fingerprint.textInteractionFlags().TextSelectableByMouse)
        form.addRow(_("Fingerprint:"), self.fingerprint)
        card = QPushButton(_("Save this device's card (public keys) for the office or a colleague…"))
        card.clicked.connect(self._save_card)
        form.addRow(card)
        layout.addWidget(me_box)
        layout.addWidget(QLabel(_("Trusted devices: bundles are accepted only from these. Compare the fingerprint "
                                  "(by phone or in person) before adding a card.")))
        self.devices = _table([_("Device name"), _("Fingerprint"), _("Role"), _("Added"), _("Status")])
        layout.addWidget(self.devices, 1)
        row = QHBoxLayout()
        self.office = QCheckBox(_("it is the community office"))
        add = QPushButton(_("Add from a device card…"))
        add.clicked.connect(self._add_card)
        self.revoke_button = QPushButton(_("Revoke the selected device"))
        self.revoke_button.clicked.connect(self.revoke_selected)
        row.addWidget(add)
        row.addWidget(self.office)
        row.addStretch(1)
        row.addWidget(self.revoke_button)
        layout.addLayout(row)
        self.refresh()

    def refresh(self) -> None:
        me = identity.identity(self.ctx.store)
        self.name.setText(me.name)
        self.name_hint.setVisible(identity.name_is_default(self.ctx.store))
        self.fingerprint.setText(me.fingerprint)
        self.rows = identity.trusted_devices(self.ctx.store)
        self.devices.setRowCount(len(self.rows))
        for r, d in enumerate(self.rows):
            status = _("revoked {when}").format(when=d["revoked_at"][:10]) if d["revoked_at"] else _("trusted")
            values = [d["name"], d["fingerprint"], _("community office") if d["is_office"] else _("device"),
                      (d["added_at"] or "")[:10], status]
            for c, text in enumerate(values):
                self.devices.setItem(r, c, QTableWidgetItem(text))

    def save_name(self) -> None:
        if self.name.text().strip():
            identity.rename_device(self.ctx.store, self.name.text())
            _remember_computer_name(self.ctx, self.name.text())
        self.refresh()


    def _save_card(self) -> None:
        me = identity.identity(self.ctx.store)
        name, _f = QFileDialog.getSaveFileName(self, _("Save device card"), f"{me.device_id[:8].upper()}.GDC",
                                               _("Device cards (*.GDC)"))
        if name:
            self.save_card(Path(name))

    def save_card(self, path: Path) -> Path:
        try:
            identity.write_card(self.ctx.store, path)
        except identity.SyncError as exc:
            self.ctx.errors.show(exc, self)
        return path

    def _add_card(self) -> None:
        name, _f = QFileDialog.getOpenFileName(self, _("Open a device card"), "", _("Device cards (*.GDC *.gdc)"))
        if name:
            self.add_card(Path(name), is_office=self.office.isChecked())

    def add_card(self, path: Path, *, is_office: bool = False) -> bool:
        try:
            identity.trust_device(self.ctx.store, Path(path).read_bytes(), is_office=is_office)
        except identity.SyncError as exc:
            self.ctx.errors.show(exc, self)
            return False
        except OSError as exc:
            self.ctx.errors.show(_("Could not read “{path}”: {error}.").format(path=path, error=exc.strerror), self)
            return False
        self.refresh()
        return True

    def revoke_selected(self, *, confirm: bool = True) -> None:
        row = self.devices.currentRow()
        if not 0 <= row < len(self.rows):
            return
        device = self.rows[row]
        if confirm and QMessageBox.question(
                self, _("Revoke device"),
                _("Revoke “{name}”? Bundles from it will be refused from now on.").format(name=device["name"])
        ) != QMessageBox.StandardButton.Yes:
            return
        identity.revoke_device(self.ctx.store, device["device_id"])
        self.refresh()


def _remember_computer_name(ctx, name: str) -> None:
    """The computer is named once: other databases opened here take the same name (settings)."""
    settings = getattr(ctx, "settings", None)
    if settings is not None and hasattr(settings, "set_device_name"):
        settings.set_device_name(name)
    window = ctx.shell.window if getattr(ctx, "shell", None) is not None else None
    if window is not None and hasattr(window, "update_status"):
        window.update_status()


class DeviceNameDialog(QDialog):
    """Asked once, the first time 同步与交接 opens while this computer has a made-up name."""

    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(_("Name this computer"))
        self.setMinimumWidth(520)
        me = identity.identity(ctx.store)
        layout = QVBoxLayout(self)
        text = QLabel(_("Other devices see this computer under its name in their list of trusted devices and in "
                        "the history of handovers. Choose a name a colleague recognises, e.g. 张伟的笔记本 or "
                        "社区办公室. The fingerprint {fp} stays the same.").format(fp=me.fingerprint))
        text.setWordWrap(True)
        layout.addWidget(text)
        self.name = QLineEdit(me.name)
        self.name.selectAll()
        layout.addWidget(self.name)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Later"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def accept(self) -> None:
        if not self.name.text().strip():
            self.ctx.errors.show(_("The device name cannot be empty."), self)
            return
        identity.rename_device(self.ctx.store, self.name.text())
        _remember_computer_name(self.ctx, self.name.text())
        super().accept()


class HistoryTab(QWidget):
    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        self.table = _table([_("When"), _("What"), _("Kind"), _("Device"), _("Changes"), _("By"), _("File"),
                             _("Backup before import")])
        layout.addWidget(self.table)
        self.refresh()

    def refresh(self) -> None:
        rows = exchange.exchange_history(self.ctx.store)
        self.table.setRowCount(len(rows))
        for r, h in enumerate(rows):
            values = [h["at"][:16].replace("T", " "), _(DIRECTIONS.get(h["direction"], h["direction"])),
                      _(KINDS.get(h["kind"], h["kind"])), h["peer_name"] or "", str(h["ops"]), h["user"] or "",
                      h["file_name"] or "", backup_text(h["summary"])]
            for c, text in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(text))


def backup_text(summary: dict) -> str:
    """What the history says about the safety copy made (or not needed) before an import."""
    name = summary.get("backup_file")
    if not name:
        return ""
    if summary.get("backup_made", True):
        return _("made: {file}").format(file=name)
    return _("not needed, nothing changed since {file}").format(file=name)
