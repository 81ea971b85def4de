"""Photos of a meeting (signed sign-in sheets) or of a matter's work done: the synced, size-bounded
attachments, one shown large at a time (Left/Right or PageUp/PageDown move, + attaches another).
Bytes are read and decoded off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
)

from db.meetings import attachments as att_service
from i18n import _
from views.households.common import message_label, shortcut, show_message


def _decode(data: bytes) -> QImage:
    image = QImage()
    image.loadFromData(data)
    return image


class PhotoViewer(QDialog):
    """list_photos() -> rows (id, filename, size, caption, …), read in a task; owner (table, id) given,
    a photo file can be attached there."""

    def __init__(self, ctx, title: str, list_photos: Callable[[], list[dict[str, Any]]], parent=None, *,
                 owner: tuple[str, str] | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.list_photos = list_photos
        self.owner = owner
        self.rows: list[dict[str, Any]] = []
        self.image: QImage | None = None
        self.setWindowTitle(title)
        self.list = QListWidget(self)
        self.list.setObjectName("photoList")
        self.list.currentRowChanged.connect(self._show)
        self.picture = QLabel(self)
        self.picture.setObjectName("photo")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setMinimumSize(self.fontMetrics().horizontalAdvance("会") * 20,
                                    self.fontMetrics().lineSpacing() * 12)
        self.caption = QLabel(self)
        self.caption.setObjectName("photoCaption")
        self.caption.setWordWrap(True)
        self.message = message_label(self)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.list)
        split.addWidget(self.picture)
        split.setStretchFactor(1, 3)
        split.setChildrenCollapsible(False)
        self.list.setMinimumWidth(self.fontMetrics().horizontalAdvance("会") * 12)
        buttons = QHBoxLayout()
        for text, keys, slot in ((_("Previous"), "PgUp", lambda: self.step(-1)),
                                 (_("Next"), "PgDown", lambda: self.step(1))):
            b = QPushButton(text, self)
            b.setToolTip(keys)
            b.clicked.connect(lambda _c=False, s=slot: s())
            shortcut(self, keys, slot)
            buttons.addWidget(b)
        if owner:
            attach = QPushButton(_("Attach a photo…"), self)
            attach.setObjectName("attachPhoto")
            attach.clicked.connect(lambda: self.attach())
            buttons.addWidget(attach)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        close.rejected.connect(self.accept)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(self.caption)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        fm = self.fontMetrics()
        self.resize(fm.horizontalAdvance("会") * 48, fm.lineSpacing() * 26)
        self.reload()

    def reload(self, select: str | None = None) -> None:
        def done(rows) -> None:
            self.rows = rows
            self.list.clear()
            for r in rows:
                text = r["filename"] or _("photo")
                if r.get("on_date"):
                    text = f"{r['on_date']}  {text}"
                item = QListWidgetItem(text, self.list)
                item.setToolTip(_("{kb} KB").format(kb=((r["size"] or 0) + 1023) // 1024))
            if not rows:
                self.picture.setText(_("No photos yet."))
                self.caption.setText("")
                return
            ids = [r["id"] for r in rows]
            self.list.setCurrentRow(ids.index(select) if select in ids else 0)

        self.ctx.tasks.run(lambda _s: self.list_photos(), title=_("Photos"), on_done=done, parent=self, io=True,
                           show_progress=False)

    def step(self, by: int) -> None:
        if self.rows:
            self.list.setCurrentRow((self.list.currentRow() + by) % len(self.rows))

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.rows):
            return
        r = self.rows[row]
        store = self.ctx.store
        self.caption.setText(_("{n} of {total}: {name}, {kb} KB{caption}").format(
            n=row + 1, total=len(self.rows), name=r["filename"] or "", kb=((r["size"] or 0) + 1023) // 1024,
            caption=f" — {r['caption']}" if r.get("caption") else ""))

        def done(image: QImage) -> None:
            if self.list.currentRow() != row:
                return  # another photo was chosen meanwhile
            self.image = image
            if image.isNull():
                self.picture.setText(_("This photo cannot be shown."))
            else:
                self._fit()

        self.ctx.tasks.run(lambda _s: _decode(att_service.attachment_bytes(store, r["id"])), title=_("Photos"),
                           on_done=done, parent=self, io=True, show_progress=False)

    def _fit(self) -> None:
        if self.image is not None and not self.image.isNull():
            pixmap = QPixmap.fromImage(self.image)
            self.picture.setPixmap(pixmap.scaled(self.picture.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event):  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit()

    def attach(self, path: str | None = None) -> None:
        """Attach a photo file to the owner (a JPEG, PNG, GIF or WebP of at most 600 KB)."""
        if self.owner is None:
            return
        if path is None:
            path, _f = QFileDialog.getOpenFileName(self, _("Attach a photo"), str(Path.home()),
                                                   _("Images (*.jpg *.jpeg *.png *.gif *.webp)"))
            if not path:
                return
        store, (table, owner_id) = self.ctx.store, self.owner
        show_message(self.message, None)

        def work(_s):
            file = Path(path)
            return att_service.add_attachment(store, owner_table=table, owner_id=owner_id, data=file.read_bytes(),
                                              filename=file.name)

        def done(changes) -> None:
            self.ctx.data_changed(changes)
            self.reload(select=changes[0].row_id if changes else None)

        self.ctx.tasks.run(work, title=_("Attach a photo"), on_done=done, parent=self,
                           on_error=lambda e: show_message(self.message, getattr(e, "message", str(e))))
