"""Small editors for the register's configuration: places (grid > compound > building > unit) and
the tag list with each tag's visit interval."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QInputDialog,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.errors import ValidationErrors
from db.register import places as place_service
from db.register import tags as tag_service
from i18n import N_, _
from views.households.common import message_label, show_message

CHILD_LEVEL = {None: "grid", "grid": "compound", "compound": "building", "building": "unit"}
LEVEL_LABELS = {"grid": N_("Grid"), "compound": N_("Compound"), "building": N_("Building"), "unit": N_("Unit")}


def add_place(ctx, parent: QWidget, place: tuple[str, str] | None, name: str | None = None) -> None:
    """Add a place under the selected one (a grid at the top); asks for the name unless given."""
    level = CHILD_LEVEL.get(place[0] if place else None)
    if level is None:
        return
    if name is None:
        name, ok = QInputDialog.getText(parent, _("New place"),
                                        _("Name of the new {level}:").format(level=_(LEVEL_LABELS[level])))
        if not ok:
            return
    store, parent_id = ctx.store, place[1] if place else None
    ctx.tasks.run(lambda _s: place_service.save_place(store, level=level, name=name, parent_id=parent_id),
                  title=_("New place"), on_done=ctx.data_changed, parent=parent)


def rename_place(ctx, parent: QWidget, place: tuple[str, str] | None, current: str, name: str | None = None) -> None:
    if not place:
        return
    if name is None:
        name, ok = QInputDialog.getText(parent, _("Rename place"), _("New name:"), text=current)
        if not ok:
            return
    store = ctx.store
    ctx.tasks.run(lambda _s: place_service.save_place(store, level=place[0], name=name, place_id=place[1]),
                  title=_("Rename place"), on_done=ctx.data_changed, parent=parent)


class TagsDialog(QDialog):
    """The tag list: how often households with each tag are visited (days)."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(_("Tags and visit intervals"))
        self.tags = tag_service.list_tags(ctx.store)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels([_("Tag"), _("Visit every (days)"), _("Sensitive")])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.spins: list[QSpinBox] = []
        self.sensitive: list[QCheckBox] = []
        for t in self.tags:
            self._add_row(t["name"], t["visit_interval_days"], bool(t["sensitive"]))
        self.add_button = QPushButton(_("New tag"), self)
        self.add_button.setToolTip(_("Add a tag of your community's own (e.g. 高龄补贴)"))
        self.add_button.clicked.connect(self.add_tag)
        self.message = message_label(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(_("Save (Enter)"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.add_button)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(460, 520)

    def _add_row(self, name: str, days: int | None, sensitive: bool) -> None:
        i = self.table.rowCount()
        self.table.insertRow(i)
        self.table.setItem(i, 0, QTableWidgetItem(name))
        spin = QSpinBox(self)
        spin.setRange(0, 3660)
        spin.setSpecialValueText(_("ordinary"))
        spin.setValue(days or 0)
        self.table.setCellWidget(i, 1, spin)
        self.spins.append(spin)
        box = QCheckBox(self)
        box.setChecked(sensitive)
        box.setToolTip(_("Sensitive personal information (PIPL): shown as a count, not by name, in lists"))
        self.table.setCellWidget(i, 2, box)
        self.sensitive.append(box)

    def add_tag(self) -> None:
        """A new, empty row at the end: type the name, set the interval, save."""
        self._add_row("", 30, False)
        row = self.table.rowCount() - 1
        self.table.setCurrentCell(row, 0)
        self.table.editItem(self.table.item(row, 0))

    def save(self) -> None:
        changed = []
        for i in range(self.table.rowCount()):
            t = self.tags[i] if i < len(self.tags) else None
            name = (self.table.item(i, 0).text() or "").strip()
            days = self.spins[i].value() or None
            sensitive = self.sensitive[i].isChecked()
            if t is None:
                if name:
                    changed.append((None, name, days, sensitive, i))
            elif name != t["name"] or days != t["visit_interval_days"] or sensitive != bool(t["sensitive"]):
                changed.append((t, name, days, sensitive, t["sort_order"]))
        store = self.ctx.store

        def work(_state):
            return tag_service.save_tags(store, tags=[
                {"tag_id": t["id"] if t else None, "name": name, "visit_interval_days": days,
                 "sensitive": sensitive, "sort_order": order} for t, name, days, sensitive, order in changed])

        def done(changes):
            self.ctx.data_changed(changes)
            self.accept()

        def failed(error):
            if isinstance(error, ValidationErrors):
                show_message(self.message, error.message)
            else:
                self.ctx.errors.show(error, self)

        if not changed:
            self.accept()
            return
        self.ctx.tasks.run(work, title=_("Tags and visit intervals"), on_done=done, on_error=failed, parent=self)
