"""Export to a USB stick and import from a file (with a preview before anything is applied)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from db.sync import exchange, files, identity, usb
from db.sync.beliefs import GapError
from db.sync.conflicts import table_label
from desktop.backups import refresh_base_in_background
from i18n import _

LARGE_IMPORT_OPS = 10_000  # from this many new ops, a new full backup afterwards (db.backup.refresh_base)


def _passphrase_edit(placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    return edit


class ExportTab(QWidget):
    """Pick a stick (or folder) and a receiver; write, verify, then say the stick may be removed."""

    sig_exported = Signal(object)
    """A bundle was written and verified (exchange.Exported)."""

    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.folder: Path | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(_("1. Insert a USB stick and choose it (or choose a folder):")))
        self.drives = QListWidget()
        self.drives.setMaximumHeight(110)
        self.drives.currentItemChanged.connect(self._drive_chosen)
        layout.addWidget(self.drives)
        row = QHBoxLayout()
        refresh = QPushButton(_("Look for sticks again"))
        refresh.clicked.connect(self.refresh_drives)
        browse = QPushButton(_("Choose a folder…"))
        browse.clicked.connect(self._browse)
        row.addWidget(refresh)
        row.addWidget(browse)
        row.addStretch(1)
        layout.addLayout(row)
        self.target = QLabel()
        layout.addWidget(self.target)
        form = QFormLayout()
        self.receiver = QComboBox()
        form.addRow(_("2. For whom:"), self.receiver)
        self.passphrase = _passphrase_edit(_("optional for a device; required for a full handover without one"))
        self.passphrase2 = _passphrase_edit(_("type the passphrase again"))
        form.addRow(_("Passphrase:"), self.passphrase)
        form.addRow(_("Again:"), self.passphrase2)
        layout.addLayout(form)
        self.export_button = QPushButton(_("3. Write the bundle"))
        self.export_button.clicked.connect(self.export_now)
        layout.addWidget(self.export_button)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.refresh()

    def refresh(self) -> None:
        self.refresh_drives()
        self.receiver.clear()
        for device in identity.trusted_devices(self.ctx.store, include_revoked=False):
            office = _(" (office)") if device["is_office"] else ""
            self.receiver.addItem(_("Changes for {name}{office} – {fp}").format(
                name=device["name"], office=office, fp=device["fingerprint"]), ("for", device["device_id"]))
        for device in identity.trusted_devices(self.ctx.store, include_revoked=False):
            self.receiver.addItem(_("Full handover (everything) for {name}").format(name=device["name"]),
                                  ("full", device["device_id"]))
        self.receiver.addItem(_("Full handover (everything), protected only by the passphrase"), ("full", None))
        self._show_target()

    def refresh_drives(self) -> None:
        self.drives.clear()
        for drive in usb.list_removable_drives():
            free_mb = drive.free_bytes // (1024 * 1024)
            item = QListWidgetItem(_("{label} ({path}, {fs}, {free} MB free)").format(
                label=drive.label, path=drive.mountpoint, fs=drive.fstype or "?", free=free_mb))
            item.setData(Qt.ItemDataRole.UserRole, drive.mountpoint)
            self.drives.addItem(item)
        if not self.drives.count():
            item = QListWidgetItem(_("No USB stick found. Insert one, or choose a folder."))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            self.drives.addItem(item)

    def _drive_chosen(self, item) -> None:
        if item is not None and item.data(Qt.ItemDataRole.UserRole):
            self.set_target_folder(Path(item.data(Qt.ItemDataRole.UserRole)))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, _("Choose a folder"))
        if folder:
            self.set_target_folder(Path(folder))

    def set_target_folder(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._show_target()

    def _show_target(self) -> None:
        self.target.setText(_("Write to: {folder}").format(folder=self.folder) if self.folder
                            else _("Write to: (not chosen yet)"))

    def export_now(self) -> None:
        if self.folder is None:
            self.ctx.errors.show(_("Choose a USB stick or a folder first."), self)
            return
        if self.passphrase.text() != self.passphrase2.text():
            self.ctx.errors.show(_("The two passphrases differ. Type them again."), self)
            return
        mode, device = self.receiver.currentData() or ("full", None)
        passphrase = self.passphrase.text() or None
        store, folder = self.ctx.store, self.folder

        def work(state):
            state.set_progress(0, 0, _("Collecting changes…"))
            return exchange.export_to_file(store, folder, for_device=device, full=mode == "full",
                                           passphrase=passphrase, progress=state.set_progress,
                                           cancelled=state.is_cancelled)

        self.status.setText(_("Writing…"))
        self.ctx.tasks.run(work, title=_("Writing the bundle"), on_done=self._done,
                           on_error=self._failed, parent=self)

    def _done(self, exported) -> None:
        self.passphrase.clear()
        self.passphrase2.clear()
        self.status.setText(_("Written and read back: {path} ({ops} changes). It is safe to remove the "
                              "stick.").format(path=exported.file_name, ops=exported.ops)
                            + "\n" + files.describe_file(Path(exported.file_name)).describe())
        self.sig_exported.emit(exported)

    def _failed(self, error) -> None:
        self.status.setText(_("Nothing was written."))
        self.ctx.errors.show(error, self)


class ImportTab(QWidget):
    """Open a bundle, check it completely and preview it; apply only when the person agrees."""

    sig_imported = Signal(object)
    """A bundle or receipt was imported (exchange.Summary)."""
    sig_receipt_written = Signal(object)
    """A receipt for the sender was written (exchange.Exported)."""

    def __init__(self, ctx, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.bundle = None
        self.summary = None  # the preview of self.bundle
        self.trusted_here = False  # the sender was confirmed for the import running now
        self.path: Path | None = None
        self.folder: Path | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(_("Bundles on the USB sticks (or in a chosen folder) – choose one:")))
        self.found = QListWidget()
        self.found.setMaximumHeight(120)
        self.found.currentItemChanged.connect(self._found_chosen)
        layout.addWidget(self.found)
        row = QHBoxLayout()
        look = QPushButton(_("Look for sticks again"))
        look.clicked.connect(self.refresh_found)
        folder = QPushButton(_("Choose a folder…"))
        folder.clicked.connect(self._browse_folder)
        row.addWidget(look)
        row.addWidget(folder)
        row.addStretch(1)
        layout.addLayout(row)
        row = QHBoxLayout()
        self.file = QLineEdit()
        self.file.setPlaceholderText(_("bundle file (.GDB) or receipt (.GDR)"))
        browse = QPushButton(_("Choose file…"))
        browse.clicked.connect(self._browse)
        row.addWidget(self.file, 1)
        row.addWidget(browse)
        layout.addLayout(row)
        self.passphrase = _passphrase_edit(_("passphrase, if the bundle has one"))
        layout.addWidget(self.passphrase)
        self.trust = QCheckBox(_("Trust a new sender with this fingerprint:"))
        self.fingerprint = QLineEdit()
        self.fingerprint.setPlaceholderText("XXXX-XXXX-XXXX-XXXX")
        row = QHBoxLayout()
        row.addWidget(self.trust)
        row.addWidget(self.fingerprint, 1)
        layout.addLayout(row)
        self.check_button = QPushButton(_("Check and preview"))
        self.check_button.clicked.connect(self.check_now)
        layout.addWidget(self.check_button)
        self.preview = QTextBrowser()
        layout.addWidget(self.preview, 1)
        row = QHBoxLayout()
        self.import_button = QPushButton(_("Import now"))
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.import_now)
        self.trust_button = QPushButton(_("Trust this device and import"))
        self.trust_button.setVisible(False)
        self.trust_button.clicked.connect(lambda: self.trust_and_import())
        row.addWidget(self.trust_button)
        self.receipt_button = QPushButton(_("Write a receipt for the sender"))
        self.receipt_button.setEnabled(False)
        self.receipt_button.clicked.connect(self.write_receipt)
        row.addWidget(self.import_button)
        row.addWidget(self.receipt_button)
        row.addStretch(1)
        layout.addLayout(row)

    def refresh_found(self) -> None:
        """List the bundles and receipts on the mounted sticks and in the chosen folder."""
        self.found.clear()
        folders = [Path(d.mountpoint) for d in usb.list_removable_drives()]
        if self.folder is not None and self.folder not in folders:
            folders.append(self.folder)
        me = identity.identity(self.ctx.store).device_id
        for folder in folders:
            for entry in files.list_bundle_files(folder):
                item = QListWidgetItem(entry.describe(me))
                item.setData(Qt.ItemDataRole.UserRole, str(entry.path))
                item.setToolTip(str(entry.path))
                self.found.addItem(item)
        if not self.found.count():
            item = QListWidgetItem(_("No bundle found on a USB stick. Insert one, choose a folder, or a file below."))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            self.found.addItem(item)

    def set_folder(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.refresh_found()

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, _("Choose a folder"))
        if folder:
            self.set_folder(Path(folder))

    def _found_chosen(self, item) -> None:
        if item is not None and item.data(Qt.ItemDataRole.UserRole):
            self.file.setText(item.data(Qt.ItemDataRole.UserRole))

    def _browse(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(self, _("Choose a bundle"), "",
                                                    _("GridDesk bundles (*.GDB *.gdb *.GDR *.gdr);;All files (*)"))
        if name:
            self.file.setText(name)

    def check_now(self) -> None:
        self.bundle = self.summary = None
        self.import_button.setEnabled(False)
        self.trust_button.setVisible(False)
        self.receipt_button.setEnabled(False)
        path = Path(self.file.text().strip())
        passphrase = self.passphrase.text() or None
        trust = self.fingerprint.text().strip() if self.trust.isChecked() else None
        store = self.ctx.store

        def work(state):
            state.set_progress(0, 0, _("Checking the bundle…"))
            # An unknown sender's bundle is still verified completely (signature, passphrase); it can
            # be imported only after the person confirms the fingerprint (bundle.needs_trust).
            bundle = exchange.read_bundle_file(store, path, passphrase=passphrase, trust_sender=trust,
                                               allow_unknown=True)
            try:
                return bundle, exchange.preview(store, bundle)
            except GapError as gap:
                # Refused for a hole: the receipt for the sender is what asks for the gap.
                gap.bundle = bundle  # (its ops are not held in memory: read from the file when applied)
                raise

        self.path = path
        self.ctx.tasks.run(work, title=_("Checking the bundle"), on_done=self._previewed,
                           on_error=self._failed, parent=self)

    def _failed(self, error) -> None:
        message = getattr(error, "message", None) or str(error)
        self.preview.setPlainText(_("Not imported: {message}").format(message=message))
        refused = getattr(error, "bundle", None) if isinstance(error, GapError) else None
        if refused is not None and not refused.needs_trust:
            self.bundle = refused
            self.receipt_button.setEnabled(True)  # “write a receipt”: the way to ask for the gap
            self.preview.append(_("Use “Write a receipt for the sender” below and give the receipt to the sender."))
        self.ctx.errors.show(error, self)

    def _previewed(self, result) -> None:
        self.bundle, self.summary = result
        self.preview.setHtml(summary_html(self.summary, self.bundle))
        self._show_import_buttons()

    def _show_import_buttons(self) -> None:
        self.import_button.setEnabled(self.bundle is not None and not self.bundle.needs_trust)
        self.trust_button.setVisible(self.bundle is not None and self.bundle.needs_trust)

    def trust_and_import(self, *, confirm: bool = True) -> None:
        """The sender is unknown: ask the person to compare the fingerprint, then trust it and import."""
        bundle = self.bundle
        if bundle is None or not bundle.needs_trust:
            return
        fp = identity.fingerprint(bundle.sender_id)
        if confirm:
            box = QMessageBox(QMessageBox.Icon.Question, _("Trust this device?"), _(
                "The bundle is intact and signed by “{name}”, a device not yet trusted here.\n\n"
                "Fingerprint: {fp}\n\nAsk the sender (by phone or in person) to read out the fingerprint "
                "shown on their computer under Sync and handover → This device and trusted devices. "
                "Trust the device only if the two are the same.").format(name=bundle.sender_name, fp=fp),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
            box.button(QMessageBox.StandardButton.Yes).setText(_("The fingerprints match: trust and import"))
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
            self.confirm_box = box
            answer = box.exec()
            self.confirm_box = None
            if answer != QMessageBox.StandardButton.Yes:
                return
        exchange.confirm_sender(bundle, fp)
        self.trust_button.setVisible(False)
        self.import_now(trusted_here=True)

    def import_now(self, *, trusted_here: bool = False) -> None:
        if self.bundle is None:
            return
        bundle, store = self.bundle, self.ctx.store
        self.trusted_here = trusted_here

        n = bundle.op_count

        def work(state):
            def progress(done: int, total: int) -> None:
                # The merge counts ops and rows; the person was told how many changes the bundle holds.
                state.set_progress(n * done // total if total else 0, n, _("Merging the changes…"))

            return exchange.import_bundle(store, bundle, progress=progress, cancelled=state.is_cancelled)

        self.import_button.setEnabled(False)
        self.ctx.tasks.run(work, title=_("Importing"), on_done=self._imported, on_error=self._failed,
                           on_cancel=self._import_cancelled, parent=self)

    def _import_cancelled(self) -> None:
        """Nothing was imported (the transaction rolled back): say so, and offer the import again."""
        from html import escape

        if self.bundle is None:
            return
        if self.trusted_here:
            self.bundle.needs_trust = True  # not trusted either: confirm the fingerprint again
        self.trusted_here = False
        cancelled = "<p><b>" + escape(_("Cancelled; nothing was imported.")) + "</b></p>"
        self.preview.setHtml(cancelled + (summary_html(self.summary, self.bundle) if self.summary else ""))
        self._show_import_buttons()

    def _imported(self, summary) -> None:
        # Only the manifest is needed from now on (the receipt); the bundle's ops are not held in
        # memory (they are read from the file batch by batch when it is applied).
        self.trusted_here = False
        # The result replaces the preview (and its warnings, e.g. the untrusted sender), at the top.
        if self.bundle is not None:
            self.preview.setHtml(summary_html(summary, self.bundle, imported=True))
        else:
            self.preview.setHtml("<p><b>" + _("Imported.") + "</b></p>")
        if summary.changes:
            self.ctx.data_changed(summary.changes)
        self.receipt_button.setEnabled(summary.kind != "receipt")
        self.sig_imported.emit(summary)
        if summary.new_ops >= LARGE_IMPORT_OPS:
            refresh_base_in_background(self.ctx, self)

    def write_receipt(self, folder: Path | None = None) -> None:
        if self.bundle is None:
            return
        folder = Path(folder) if folder else (self.path.parent if self.path else Path.home())
        bundle, store = self.bundle, self.ctx.store

        def work(state):
            return exchange.write_receipt(store, bundle, folder)

        def done(receipt):
            self.preview.append("<p>" + _("Receipt written: {path}. Give it to the sender.").format(
                path=receipt.file_name) + "</p>")
            self.receipt_button.setEnabled(False)
            self.sig_receipt_written.emit(receipt)

        self.ctx.tasks.run(work, title=_("Writing the receipt"), on_done=done, on_error=self._failed, parent=self)


def summary_html(summary, bundle, *, imported: bool = False) -> str:
    """The preview of a bundle, or with imported=True the result of importing it (headline first)."""
    from html import escape

    lines = [f"<h3>{escape(_('From: {name}').format(name=summary.sender_name))}</h3>",
             f"<p>{escape(_('Fingerprint: {fp}').format(fp=identity.fingerprint(summary.sender_id)))}<br>"
             f"{escape(_('Made: {when}').format(when=bundle.manifest.get('created_at', '')[:16].replace('T', ' ')))}"
             "</p>"]
    if summary.kind == "receipt":
        lines.append(f"<p>{escape(_('This is a receipt: it records what the other device now holds.'))}</p>")
        if imported:
            lines.insert(0, f"<p style='color:#1a6b2f'><b>{escape(_('Imported.'))}</b></p>")
        return "".join(lines)
    kind = _("full handover") if summary.kind == "full" else _("changes")
    lines.append(f"<p>{escape(_('Kind: {kind}; {n} changes in the bundle, {new} new here.').format(kind=kind, n=summary.ops, new=summary.new_ops))}</p>")
    if summary.community:
        lines.append(f"<p>{escape(_('Community: {name}').format(name=summary.community))}</p>")
    lines.append("<ul>")
    for table, n in sorted(summary.new_rows.items()):
        lines.append(f"<li>{escape(_('New {table}: {n}').format(table=table_label(table), n=n))}</li>")
    for table, n in sorted(summary.updated_rows.items()):
        lines.append(f"<li>{escape(_('Updated {table}: {n}').format(table=table_label(table), n=n))}</li>")
    lines.append(f"<li>{escape(_('New conflicts to review: {n}').format(n=summary.new_conflicts))}</li>")
    lines.append("</ul>")
    if summary.by_user:
        who = "、".join(f"{u}（{n}）" for u, n in sorted(summary.by_user.items(), key=lambda kv: -kv[1]))
        lines.append(f"<p>{escape(_('Changes made by: {who}').format(who=who))}</p>")
    if summary.newer_schema_ops:
        lines.append(f"<p>{escape(_('{n} changes come from a newer GridDesk version; they are kept and applied after an update.').format(n=summary.newer_schema_ops))}</p>")
    if summary.skewed:
        lines.append(f"<p>{escape(_('Note: the sender’s clock seems to be far ahead; the data is accepted anyway.'))}</p>")
    if imported:
        if summary.already_imported and not summary.new_ops:
            head = _("This bundle was imported before; nothing was changed.")
        else:
            head = _("Imported: {new} new changes, {conflicts} new conflicts to review.").format(
                new=summary.new_ops, conflicts=summary.new_conflicts)
        lines.insert(0, f"<p style='color:#1a6b2f'><b>{escape(head)}</b></p>")
        if bundle.newly_trusted:
            lines.append(f"<p>{escape(_('The sender was added to the trusted devices.'))}</p>")
        return "".join(lines)
    if summary.already_imported:
        lines.append(f"<p>{escape(_('This bundle was imported before; importing it again changes nothing.'))}</p>")
    if bundle.needs_trust:
        lines.insert(0, "<p style='color:#a15c00'><b>" + escape(_(
            "The bundle is intact (signature and passphrase checked), but its sender is not a trusted device "
            "yet. Compare the fingerprint below with the sender, then choose “Trust this device and import”."))
            + "</b></p>")
    elif bundle.newly_trusted:
        lines.append(f"<p>{escape(_('The sender will be added to the trusted devices.'))}</p>")
    return "".join(lines)
