"""Small editors for the register's configuration: places (grid > compound > building > unit) and
the tag list with each tag's visit interval."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QInputDialog,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db.errors import ValidationErrors
from db.register import places as place_service
from db.register import tags as tag_service
from desktop.i18n import N_, _
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
        self.table = QTableWidget(len(self.tags), 2, self)
        self.table.setHorizontalHeaderLabels([_("Tag"), _("Visit every (days)")])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.spins: list[QSpinBox] = []
        for i, t in enumerate(self.tags):
            self.table.setItem(i, 0, QTableWidgetItem(t["name"]))
            spin = QSpinBox(self)
            spin.setRange(0, 3660)
            spin.setSpecialValueText(_("ordinary"))
            spin.setValue(t["visit_interval_days"] or 0)
            self.table.setCellWidget(i, 1, spin)
            self.spins.append(spin)
        self.message = message_label(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(_("Save (Enter)"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(460, 520)

    def save(self) -> None:
        changed = []
        for i, t in enumerate(self.tags):
            name = (self.table.item(i, 0).text() or "").strip()
            days = self.spins[i].value() or None
            if name != t["name"] or days != t["visit_interval_days"]:
                changed.append((t, name, days))
        store = self.ctx.store

        def work(_state):
            out = []
            with store.db.atomic():
                for t, name, days in changed:
                    out += tag_service.save_tag(store, tag_id=t["id"], name=name, visit_interval_days=days,
                                                sensitive=bool(t["sensitive"]), sort_order=t["sort_order"])
            return out

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
