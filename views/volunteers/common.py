"""Pieces shared by the volunteer screens (no SQL): the lazy roster model, small helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QSizePolicy, QWidget

from db.register.search import age_on
from db.validation import mask_id, mask_phone
from db.volunteers.common import hours_text
from i18n import N_, _
from views.households.common import LazyIdsModel

_ROOT = QModelIndex()
_DISPLAY = Qt.ItemDataRole.DisplayRole
ERROR = QColor("#b3261e")
CLASH_BG = QColor("#fde7e4")


class RosterModel(LazyIdsModel):
    """The roster: volunteer ids only; rows fetched a page at a time by a db/ query (the register
    list's lazy model, views.households.common.LazyIdsModel)."""

    COLUMNS: list[tuple[str, str]] = [
        ("number", N_("Volunteer no.")), ("name", N_("Name")), ("sex", N_("Sex")), ("age", N_("Age")),
        ("teams", N_("Teams")), ("skills", N_("Skills")), ("hours", N_("Hours")), ("party", N_("Party member report")),
        ("phone", N_("Phone")), ("id_number", N_("ID number"))]
    PAGE = 200
    MAX_PAGES = 50

    def __init__(self, fetch: Callable[[list[str]], dict[str, dict[str, Any]]], parent=None):
        super().__init__(parent)
        self._fetch_rows = fetch

    def _read(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return self._fetch_rows(ids)

    @property
    def ids(self) -> list[str]:
        return self._ids

    def headerData(self, section, orientation, role=_DISPLAY):  # noqa: N802 - Qt API
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return _(self.COLUMNS[section][1])
        return None

    def data(self, index, role=_DISPLAY):
        if role not in (_DISPLAY, Qt.ItemDataRole.UserRole):
            return None
        r = self.row(index.row())
        if r is None:
            return None
        if role == Qt.ItemDataRole.UserRole:
            return r
        key = self.COLUMNS[index.column()][0]
        if key == "age":
            age = age_on(r["birth_date"])
            return "" if age is None else str(age)
        if key in ("teams", "skills"):
            return "、".join(r[key])
        if key == "hours":
            return hours_text(r["minutes"])
        if key == "party":
            return _("Yes") + (f"（{r['employer']}）" if r["employer"] else "") if r["party_report"] else ""
        if key == "phone":
            return mask_phone(r["phone"])
        if key == "id_number":
            return mask_id(r["id_number"])
        return r.get(key) or ""


def fit_to_contents(combo: QComboBox) -> QComboBox:
    """A combo box as wide as its longest item at any text size: the layout shrinks others, not it."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    combo.setSizePolicy(QSizePolicy.Policy.Minimum, combo.sizePolicy().verticalPolicy())
    return combo


def button(parent: QWidget, text: str, slot, tip: str | None = None) -> QPushButton:
    b = QPushButton(text, parent)
    b.clicked.connect(lambda _checked=False: slot())
    if tip:
        b.setToolTip(tip)
    return b


def error_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setStyleSheet("color: #b3261e;")
    label.setObjectName("errorMessage")
    return label


def brush(color: QColor) -> QBrush:
    return QBrush(color)


def save_output(ctx, parent: QWidget, suggested: str, make, *, kind: str = "pdf") -> None:
    """Ask where to save, then make the file in the background (make() -> bytes, or make(path) for
    an export that writes the file itself and returns a row count)."""
    from desktop.file_dialogs import save_file

    filters = _("PDF files (*.pdf)") if kind == "pdf" else _("Excel workbooks (*.xlsx)")
    path = save_file(parent, ctx.settings, _("Save as"), suggested, filters)
    if not path:
        return
    write_output(ctx, parent, path, make, kind=kind)


def write_output(ctx, parent: QWidget, path: str, make, *, kind: str = "pdf") -> None:
    from pathlib import Path

    def work(_state):
        if kind == "pdf":
            data = make()
            target = Path(path)
            tmp = target.with_name(target.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(target)
            return path
        make(path)
        return path

    def done(result) -> None:
        status = getattr(parent.window(), "statusBar", None)
        if callable(status):
            status().showMessage(_("Saved {path}").format(path=result), 8000)
        parent.setProperty("lastSaved", str(result))

    # Exports write an audit entry, so they run on the writer; PDFs only read.
    ctx.tasks.run(work, title=_("Writing {name}").format(name=Path(path).name), on_done=done, parent=parent,
                  io=False)


def run_write(ctx, parent: QWidget, work: Callable[[], Any], *, title: str, done: Callable[[Any], None],
              message: QLabel | None = None, refused: Callable[[Any], None] | None = None):
    """One user intent's service on the writer thread (the passbook's pattern): done(changes) runs on
    the GUI thread, then the other screens hear of the changes. A refusal (GridDeskError) goes to
    refused(error) or into the message label; anything else to the error reporter."""
    from db.errors import GridDeskError

    def finished(changes) -> None:
        done(changes)
        ctx.data_changed(changes)

    def failed(error: BaseException) -> None:
        if not isinstance(error, GridDeskError):
            ctx.tasks.report(error, parent)
        elif refused is not None:
            refused(error)
        elif message is not None:
            message.setText(error.message)

    return ctx.tasks.run(lambda _s: work(), title=title, on_done=finished, on_error=failed, parent=parent)
