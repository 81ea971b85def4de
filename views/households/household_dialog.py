"""Household editor: place, door, use, owner, and the members with their relation to the head."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from db.errors import ValidationErrors
from db.register import households as hh_service
from db.register import persons as person_service
from db.register.audit import reveal
from db.register.common import HOUSE_USES
from db.register.persons import DuplicatePersonError
from db.register.places import place_tree
from db.validation import mask_id, mask_phone
from i18n import N_, _
from views.households.common import (
    DictListModel,
    combo,
    combo_value,
    fit_columns,
    message_label,
    set_combo,
    shortcut,
    show_message,
)
from views.households.person_dialog import PersonDialog, ask_duplicate, describe_candidates

MEMBER_COLUMNS = [("relation", N_("Relation")), ("name", N_("Name")), ("sex", N_("Sex")),
                  ("birth_date", N_("Birth date")), ("id_number", N_("ID number")), ("phone", N_("Phone"))]


class HouseholdDialog(QDialog):
    """New household (members collected first, saved together) or an existing one (each change saved)."""

    def __init__(self, ctx, *, household_id: str | None = None, unit_id: str | None = None, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.household_id = household_id
        self.pending: list[dict[str, Any]] = []
        self.setWindowTitle(_("Edit household") if household_id else _("New household"))
        current = hh_service.get_household(ctx.store, household_id) if household_id else {"unit_id": unit_id}
        self.current = current
        self.tree = place_tree(ctx.store)

        grid = QGridLayout()
        self.grid_box, self.compound_box, self.building_box, self.unit_box = (QComboBox(self) for _i in range(4))
        self.door = QLineEdit(current.get("door") or "", self)
        self.number = QLineEdit(current.get("number") or "", self)
        self.house_use = combo(HOUSE_USES, parent=self)
        set_combo(self.house_use, current.get("house_use"))
        self.owner_name = QLineEdit(current.get("owner_name") or "", self)
        self.owner_phone = QLineEdit(self)
        owner_phone_field: QWidget = self.owner_phone
        if household_id and current.get("owner_phone"):
            self.owner_phone.setText(mask_phone(current["owner_phone"]))
            self.owner_phone.setReadOnly(True)
            owner_phone_field = QWidget(self)
            row = QHBoxLayout(owner_phone_field)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(self.owner_phone, 1)
            self.reveal_button = QPushButton(_("Show in full"), self)
            self.reveal_button.setAutoDefault(False)
            self.reveal_button.clicked.connect(self.reveal_owner_phone)
            row.addWidget(self.reveal_button)
        self.notes = QLineEdit(current.get("notes") or "", self)
        self.messages: dict[str, QLabel] = {}
        rows = [(_("Grid"), self.grid_box, "grid_id"), (_("Compound"), self.compound_box, "compound"),
                (_("Building"), self.building_box, "building"), (_("Unit"), self.unit_box, "unit_id"),
                (_("Door (门牌/房号)") + " *", self.door, "door"), (_("Household number"), self.number, "number"),
                (_("House use"), self.house_use, "house_use"), (_("Owner / landlord"), self.owner_name, "owner_name"),
                (_("Owner phone"), owner_phone_field, "owner_phone"), (_("Notes"), self.notes, "notes")]
        for i, (label, widget, key) in enumerate(rows):
            r, c = (i // 2) * 2, (i % 2) * 2
            caption = QLabel(label, self)
            caption.setBuddy(widget)
            grid.addWidget(caption, r, c, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(widget, r, c + 1)
            msg = message_label(self)
            grid.addWidget(msg, r + 1, c + 1)
            self.messages[key] = msg
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.grid_box.currentIndexChanged.connect(lambda: self._fill(self.compound_box, self.grid_box))
        self.compound_box.currentIndexChanged.connect(lambda: self._fill(self.building_box, self.compound_box))
        self.building_box.currentIndexChanged.connect(lambda: self._fill(self.unit_box, self.building_box))
        self._fill_root()
        if current.get("unit_id"):
            self._select_unit(current["unit_id"])

        self.members_model = DictListModel(MEMBER_COLUMNS, self, formatters={
            "id_number": lambda r: mask_id(r.get("id_number")), "phone": lambda r: mask_phone(r.get("phone"))})
        self.members = QTableView(self)
        self.members.setObjectName("members")
        self.members.setModel(self.members_model)
        self.members.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        # Masked numbers whole at any text size; the name and relation columns take what is left.
        fit_columns(self.members, ("岳父母或公婆", "欧阳娜娜", "男", "2026-11-25", "420103********6582", "185****3758"))
        self.members.horizontalHeader().setStretchLastSection(True)
        header = self.members.horizontalHeader()
        self.members.setMinimumWidth(sum(header.sectionSize(c) for c in range(header.count()))
                                     + self.members.verticalScrollBar().sizeHint().width() + 4)
        self.members.doubleClicked.connect(self.edit_member)
        add = QPushButton(_("Add member (Ctrl+M)"), self)
        add.setAutoDefault(False)
        add.clicked.connect(self.add_member)
        edit = QPushButton(_("Edit member"), self)
        edit.setAutoDefault(False)
        edit.clicked.connect(self.edit_member)
        edit.setEnabled(bool(household_id))
        shortcut(self, "Ctrl+M", self.add_member)
        member_buttons = QHBoxLayout()
        member_buttons.addWidget(add)
        member_buttons.addWidget(edit)
        member_buttons.addStretch(1)
        self.general = message_label(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(_("Save (Enter)"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Close"))
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Save).setDefault(True)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(QLabel(_("Members"), self))
        layout.addWidget(self.members, 1)
        layout.addLayout(member_buttons)
        layout.addWidget(self.general)
        layout.addWidget(buttons)
        self.refresh_members()
        self.door.setFocus()
        self.resize(max(820, self.sizeHint().width()), max(620, self.sizeHint().height()))

    # -- place choosers ------------------------------------------------------------------------------
    def _fill_root(self) -> None:
        self.grid_box.blockSignals(True)
        self.grid_box.clear()
        self.grid_box.addItem("", None)
        for g in self.tree:
            self.grid_box.addItem(g["name"], g)
        self.grid_box.blockSignals(False)
        self._fill(self.compound_box, self.grid_box)

    def _fill(self, box: QComboBox, parent_box: QComboBox) -> None:
        node = parent_box.currentData()
        box.blockSignals(True)
        box.clear()
        box.addItem("", None)
        for child in (node or {}).get("children", []):
            box.addItem(child["name"], child)
        box.blockSignals(False)
        nxt = {id(self.compound_box): (self.building_box, self.compound_box),
               id(self.building_box): (self.unit_box, self.building_box)}.get(id(box))
        if nxt:
            self._fill(*nxt)

    def _select_unit(self, unit_id: str) -> None:
        for g in self.tree:
            for c in g["children"]:
                for b in c["children"]:
                    for u in b["children"]:
                        if u["id"] == unit_id:
                            for box, node in ((self.grid_box, g), (self.compound_box, c), (self.building_box, b),
                                              (self.unit_box, u)):
                                box.setCurrentIndex(max(0, box.findText(node["name"])))
                            return

    def form_values(self) -> dict[str, Any]:
        unit = self.unit_box.currentData()
        grid = self.grid_box.currentData()
        values = {"grid_id": grid["id"] if grid else None, "unit_id": unit["id"] if unit else None,
                  "door": self.door.text(), "number": self.number.text(), "house_use": combo_value(self.house_use),
                  "owner_name": self.owner_name.text(), "notes": self.notes.text()}
        if not self.owner_phone.isReadOnly():
            values["owner_phone"] = self.owner_phone.text()
        if self.household_id:
            values = {k: v for k, v in values.items()
                      if (self.current.get(k) or None) != ((v.strip() or None) if isinstance(v, str) else v)}
        return values

    def reveal_owner_phone(self) -> None:
        """Show the owner's number in full: an explicit choice that leaves an audit entry."""
        store, hid = self.ctx.store, self.household_id

        def done(value: str) -> None:
            self.owner_phone.setReadOnly(False)
            self.owner_phone.setText(value)
            self.reveal_button.setEnabled(False)

        self.ctx.tasks.run(lambda _s: reveal(store, table="household", row_id=hid, field="owner_phone"),
                           title=_("Show in full"), on_done=done, parent=self)

    # -- members -------------------------------------------------------------------------------------
    def refresh_members(self) -> None:
        if self.household_id:
            rows = hh_service.household_members(self.ctx.store, self.household_id)
        else:
            rows = [dict(p["values"], relation=p["relation"]) for p in self.pending]
        self.members_model.set_rows(rows)

    def add_member(self) -> None:
        relation = "户主" if not self.members_model.rows else "配偶" if len(self.members_model.rows) == 1 else "子女"
        dlg = PersonDialog(self.ctx, collect=True, relation=relation, parent=self)
        if dlg.exec():
            self.accept_member(dlg.values, dlg.relation)

    def accept_member(self, values: dict[str, Any], relation: str) -> None:
        """A member entered in the person editor: kept until Save (new household) or added now."""
        if not self.household_id:
            self.pending.append({"values": values, "relation": relation})
            self.refresh_members()
            return
        self._add_existing(values, relation, allow_duplicate=False)

    def _add_existing(self, values, relation, *, allow_duplicate: bool) -> None:
        store, hid = self.ctx.store, self.household_id

        def failed(error):
            if isinstance(error, DuplicatePersonError):
                choice = ask_move_in_or_create(self, error.candidates)
                if choice == "create":
                    self._add_existing(values, relation, allow_duplicate=True)
                elif choice is not None:
                    self.move_in_existing(choice, relation)
            elif isinstance(error, ValidationErrors):
                show_message(self.general, error.message)
            else:
                self.ctx.errors.show(error, self)

        self.ctx.tasks.run(lambda _s: hh_service.add_member(store, household_id=hid, relation=relation,
                                                            person=values, allow_duplicate=allow_duplicate),
                           title=_("Add member"), on_done=self._changed, on_error=failed, parent=self)

    def move_in_existing(self, person_id: str, relation: str, *, date: str | None = None) -> None:
        """迁入: an existing resident joins this household (their earlier membership ends; history kept)."""
        import datetime as dt

        store, hid = self.ctx.store, self.household_id
        day = date or dt.date.today().isoformat()

        def failed(error):
            if isinstance(error, ValidationErrors):
                show_message(self.general, error.message)
            else:
                self.ctx.errors.show(error, self)

        self.ctx.tasks.run(lambda _s: person_service.move_in(store, person_id=person_id, household_id=hid,
                                                             date=day, relation=relation),
                           title=_("Move in"), on_done=self._changed, on_error=failed, parent=self)

    def edit_member(self, *_args) -> None:
        index = self.members.currentIndex()
        if not index.isValid() or not self.household_id:
            return
        row = self.members_model.rows[index.row()]
        dlg = PersonDialog(self.ctx, person_id=row["person_id"], membership_id=row["membership_id"],
                           relation=row["relation"], parent=self)
        if dlg.exec():
            self.refresh_members()

    def _changed(self, changes) -> None:
        self.ctx.data_changed(changes)
        self.refresh_members()

    # -- save ----------------------------------------------------------------------------------------
    def save(self, *, allow_duplicates: bool = False) -> None:
        for label in self.messages.values():
            show_message(label, None)
        show_message(self.general, None)
        values = self.form_values()
        store = self.ctx.store
        if self.household_id:
            hid = self.household_id
            if not values:
                self.accept()
                return
            work = lambda _s: hh_service.update_household(store, household_id=hid, values=values)  # noqa: E731
        else:
            members = [dict(p["values"], relation=p["relation"]) for p in self.pending]
            work = lambda _s: hh_service.register_household(  # noqa: E731
                store, household=values, members=members, allow_duplicates=allow_duplicates)

        def done(changes):
            self.ctx.data_changed(changes)
            created = [c for c in changes if c.table == "household" and c.created]
            if created:
                self.household_id = created[0].row_id
            self.accept()

        def failed(error):
            if isinstance(error, DuplicatePersonError):
                if ask_duplicate(self, error.candidates):
                    self.save(allow_duplicates=True)
            elif isinstance(error, ValidationErrors):
                for err in error.errors:
                    where = self.messages.get(err.field or "")
                    text = err.message if err.row is None else _("Member {row}: {message}").format(
                        row=err.row, message=err.message)
                    show_message(where if where and err.row is None else self.general, text)
            else:
                self.ctx.errors.show(error, self)

        self.ctx.tasks.run(work, title=_("Saving"), on_done=done, on_error=failed, parent=self)


__all__ = ["HouseholdDialog", "QWidget"]


def ask_move_in_or_create(parent: QWidget, candidates: list[dict[str, Any]]) -> str | None:
    """The person may already be in the register: move that record into this household (returns its
    id), create a second record ("create"), or do nothing (None)."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(_("Possible duplicate"))
    box.setText(_("This person may already be in the register:"))
    box.setInformativeText(describe_candidates(candidates) + "\n\n" + _(
        "Move the existing record into this household (the move-in is kept in their history), or create "
        "a second record?"))
    move = box.addButton(_("Move the existing person in"), QMessageBox.ButtonRole.AcceptRole)
    create = box.addButton(_("Create anyway"), QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(_("Do not create"), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(move)
    box.exec()
    if box.clickedButton() is move:
        return candidates[0]["id"]
    if box.clickedButton() is create:
        return "create"
    return None
