"""Person editor: inline validation next to each field, ID and phone masked until shown in full."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from db.errors import ValidationErrors
from db.register import persons as person_service
from db.register.audit import reveal
from db.register.common import ID_TYPES, MARITAL_STATUSES, PERSON_TYPES, RELATIONS, RESIDENCE_STATUSES, SEXES
from db.validation import mask_id, mask_phone, parse_id_number
from i18n import N_, _
from views.households.common import ERROR_STYLE, combo, combo_value, message_label, set_combo, show_message

TEXT_FIELDS: list[tuple[str, str]] = [
    ("name", N_("Name")), ("former_name", N_("Former name")), ("ethnicity", N_("Ethnicity")),
    ("id_number", N_("ID number")), ("birth_date", N_("Birth date")), ("phone", N_("Phone")),
    ("hukou_address", N_("Registered (hukou) address")), ("current_address", N_("Current address")),
    ("political_status", N_("Political status")), ("education", N_("Education")),
    ("health", N_("Health")), ("disability", N_("Disability")), ("employment", N_("Employment")),
    ("employer", N_("Employer")), ("move_in_date", N_("Moved in on")), ("notes", N_("Notes"))]
CHOICE_FIELDS: dict[str, tuple[str, list[str], bool]] = {
    "sex": (N_("Sex"), SEXES, False), "id_type": (N_("ID type"), ID_TYPES, False),
    "marital_status": (N_("Marital status"), MARITAL_STATUSES, False),
    "residence_status": (N_("Residence status"), RESIDENCE_STATUSES, False),
    "person_type": (N_("Person type"), PERSON_TYPES, False)}
ORDER = ["name", "former_name", "sex", "ethnicity", "id_type", "id_number", "birth_date", "phone",
         "residence_status", "person_type", "marital_status", "political_status", "education", "employment",
         "employer", "health", "disability", "hukou_address", "current_address", "move_in_date", "notes"]
PROTECTED = ("id_number", "phone")
# Fields with a 生僻字… button: a character picker for what input methods lack (𫖯, 𠮷).
PICKER_FIELDS = ("name", "former_name", "hukou_address", "current_address")


class PersonDialog(QDialog):
    """Edit a person (person_id) or collect a new one (collect=True returns `values` and `relation`).

    Enter saves; problems appear in Chinese under the field they concern, before anything is saved.
    """

    def __init__(self, ctx, *, person_id: str | None = None, membership_id: str | None = None,
                 relation: str | None = None, collect: bool = False, initial: dict[str, Any] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.person_id = person_id
        self.membership_id = membership_id
        self.initial_relation = relation
        self.collect = collect
        self.values: dict[str, Any] = {}
        self.relation: str | None = relation
        self.saved_changes: list = []
        self.revealed: set[str] = set()
        self.setWindowTitle(_("Edit person") if person_id else _("New person"))
        self.current: dict[str, Any] = person_service.get_person(ctx.store, person_id) if person_id else dict(initial or {})

        self.inputs: dict[str, Any] = {}
        self.messages: dict[str, QLabel] = {}
        self._masked_filter = _MaskedField(self)
        form_widget = QWidget(self)
        grid = QGridLayout(form_widget)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        fields = ["relation"] + ORDER if (membership_id or collect) else ORDER
        labels = dict(TEXT_FIELDS)
        for i, key in enumerate(fields):
            col = (i % 2) * 2
            row = (i // 2) * 2
            if key == "relation":
                label, widget = _("Relation to head"), combo(RELATIONS, blank=False, parent=self)
                set_combo(widget, relation or "户主")
            elif key in CHOICE_FIELDS:
                title, items, editable = CHOICE_FIELDS[key]
                label, widget = _(title), combo(items, editable=editable, parent=self)
                set_combo(widget, self.current.get(key))
            else:
                label, widget = _(labels[key]), QLineEdit(self)
                widget.setText(self.current.get(key) or "")
                if key in ("birth_date", "move_in_date"):
                    widget.setPlaceholderText(_("e.g. 1980-05-01"))
            widget.setObjectName(f"field_{key}")
            if key in PROTECTED:
                # A whole 18-digit number stays visible at any text size.
                widget.setMinimumWidth(widget.fontMetrics().horizontalAdvance("110105194912310021") + 16)
            if key == "name":
                label += " *"
            if key in PROTECTED and person_id and self.current.get(key):
                widget.setText(mask_id(self.current[key]) if key == "id_number" else mask_phone(self.current[key]))
                widget.setReadOnly(True)
                widget.setToolTip(_("Hidden. Click “Show in full” to edit it, or just type a new number to "
                                    "replace it."))
                widget.installEventFilter(self._masked_filter)
                box = QWidget(self)
                h = QHBoxLayout(box)
                h.setContentsMargins(0, 0, 0, 0)
                h.addWidget(widget, 1)
                button = QPushButton(_("Show in full"), self)
                button.setObjectName(f"reveal_{key}")
                button.setAutoDefault(False)
                button.clicked.connect(lambda _c=False, k=key: self.reveal(k))
                h.addWidget(button)
                self.reveal_buttons = getattr(self, "reveal_buttons", {})
                self.reveal_buttons[key] = button
                holder = box
            elif key in PICKER_FIELDS:
                holder = self._with_picker(widget, key)
            else:
                holder = widget
            caption = QLabel(label, self)
            caption.setBuddy(widget)
            grid.addWidget(caption, row, col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(holder, row, col + 1)
            msg = message_label(self)
            msg.setObjectName(f"msg_{key}")
            grid.addWidget(msg, row + 1, col + 1)
            self.inputs[key] = widget
            self.messages[key] = msg
            if isinstance(widget, QLineEdit):
                widget.textEdited.connect(self._schedule_check)
            else:
                widget.currentIndexChanged.connect(self._schedule_check)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        grid.setRowStretch(grid.rowCount(), 1)  # extra height below the fields, not between them
        self.derived = QLabel(self)
        self.derived.setObjectName("derived")
        self.general = message_label(self)

        tabs = QTabWidget(self)
        tabs.addTab(_scrolled(form_widget), _("Personal details"))
        if person_id:
            from views.households.person_history import PersonHistory

            self.history = PersonHistory(ctx, person_id, self)
            tabs.addTab(self.history, _("Tags and history"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(_("Save (Enter)"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setDefault(True)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(self.derived)
        layout.addWidget(self.general)
        _fit_screen(self, form_widget)
        layout.addWidget(buttons)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.check)
        self.inputs["name"].setFocus()
        self.resize(max(760, self.sizeHint().width()), max(560, self.sizeHint().height()))

    def _with_picker(self, widget: QLineEdit, key: str) -> QWidget:
        box = QWidget(self)
        h = QHBoxLayout(box)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(widget, 1)
        button = QPushButton(_("Rare character…"), self)
        button.setObjectName(f"picker_{key}")
        button.setAutoDefault(False)
        button.setToolTip(_("Find a character that the input method lacks, by pinyin or code point (e.g. 2B5AF)"))
        button.clicked.connect(lambda _c=False, k=key: self.open_picker(k))
        h.addWidget(button)
        return box

    def open_picker(self, key: str = "name"):
        """The character picker; a chosen character is inserted at the cursor of that field."""
        from views.households.char_picker import CharPickerDialog

        picker = CharPickerDialog(self.ctx, self)
        picker.sig_picked.connect(lambda char, k=key: self.insert_char(k, char))
        self.picker = picker
        picker.open()
        return picker

    def insert_char(self, key: str, char: str) -> None:
        widget = self.inputs[key]
        widget.insert(char)
        widget.textEdited.emit(widget.text())

    # -- values and validation -----------------------------------------------------------------------
    def form_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, widget in self.inputs.items():
            if key == "relation":
                continue
            if isinstance(widget, QLineEdit):
                if key in PROTECTED and widget.isReadOnly():
                    continue  # still masked: unchanged
                values[key] = widget.text().strip() or None
            else:
                values[key] = combo_value(widget)
        if self.person_id:
            # Only what changed is written (one op per row, changed columns only).
            values = {k: v for k, v in values.items() if (self.current.get(k) or None) != v}
        return values

    def checked_values(self) -> dict[str, Any]:
        """The values to check and write. When the ID number changes, the entered birth date and sex
        go along (even unchanged), so a disagreement is flagged instead of silently overwritten."""
        values = self.form_values()
        if values.get("id_number"):
            for key in ("birth_date", "sex"):
                if key not in values and key in self.inputs:
                    widget = self.inputs[key]
                    values[key] = (widget.text().strip() or None) if isinstance(widget, QLineEdit) \
                        else combo_value(widget)
        return values

    def id_conflicts(self, checked: person_service.CheckedPerson | None) -> list:
        return [w for w in (checked.warnings if checked else []) if w.field in ("birth_date", "sex")]

    def _schedule_check(self, *_args) -> None:
        self._timer.start()

    def check(self) -> person_service.CheckedPerson | None:
        for label in self.messages.values():
            show_message(label, None)
        show_message(self.general, None)
        values = self.checked_values()
        if not self.person_id:
            values["name"] = values.get("name")
        try:
            checked = person_service.check_person(values)
        except ValidationErrors as exc:
            for err in exc.errors:
                target = self.messages.get(err.field or "") or self.general
                show_message(target, err.message)
            self.derived.setText("")
            return None
        for warning in checked.warnings:
            show_message(self.messages.get(warning.field or "") or self.general, warning.message, warning=True)
        if self.id_conflicts(checked) and "id_number" in self.messages:
            show_message(self.messages["id_number"], _("The birth date or sex in the ID number differs from what "
                                                       "is entered; when saving you choose which to keep."),
                         warning=True)
        parts = []
        if checked.values.get("birth_date") and not values.get("birth_date"):
            parts.append(_("Birth date from the ID number: {date}").format(date=checked.values["birth_date"]))
        if checked.values.get("sex") and not values.get("sex"):
            parts.append(_("Sex from the ID number: {sex}").format(sex=checked.values["sex"]))
        if checked.age is not None:
            parts.append(_("Age: {age}").format(age=checked.age))
        self.derived.setText("；".join(parts))
        return checked

    # -- actions ---------------------------------------------------------------------------------------
    def reveal(self, key: str) -> None:
        """Show the full number: an explicit choice that leaves an audit entry."""
        def work(_state):
            return reveal(self.ctx.store, table="person", row_id=self.person_id, field=key)

        def done(value: str) -> None:
            widget = self.inputs[key]
            widget.setReadOnly(False)
            widget.setText(value)
            self.revealed.add(key)
            self.reveal_buttons[key].setEnabled(False)

        self.ctx.tasks.run(work, title=_("Show in full"), on_done=done, parent=self)

    def save(self) -> None:
        self._timer.stop()
        checked = self.check()
        if checked is None:
            self._not_saved()
            return
        if self.id_conflicts(checked):
            choice = self.ask_id_conflict(self.id_conflicts(checked))
            if choice is None:
                return
            if choice == "id":
                self.take_from_id()
            checked = self.check()
            if checked is None:
                return
        relation = combo_value(self.inputs["relation"]) if "relation" in self.inputs else None
        if self.collect:
            self.values, self.relation = checked.values, relation
            self.accept()
            return
        self._write(allow_duplicate=False, relation=relation)

    def _not_saved(self) -> None:
        """Enter with a problem: say that nothing was saved and why, and go to the first field concerned."""
        bad = [key for key, label in self.messages.items() if label.text() and label.styleSheet() == ERROR_STYLE]
        if not bad:
            bad = [key for key, label in self.messages.items() if label.text()]
        field = self.messages[bad[0]].text() if bad else ""
        show_message(self.general, _("Not saved: {problem}").format(problem=field) if field
                     else self.general.text() or _("Not saved: correct the problems shown first."))
        widget = self.inputs.get(bad[0]) if bad else None
        if widget is not None:
            widget.setFocus()
            if hasattr(widget, "selectAll"):
                widget.selectAll()

    def ask_id_conflict(self, conflicts: list) -> str | None:
        """'id' = take birth date and sex from the ID number, 'entered' = keep them, None = go back."""
        box = QMessageBox(self)
        box.setObjectName("idConflict")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(_("ID number and entered values differ"))
        box.setText("\n".join(w.message for w in conflicts))
        box.setInformativeText(_("Which values should be saved?"))
        from_id = box.addButton(_("Use the ID number's values"), QMessageBox.ButtonRole.AcceptRole)
        from_id.setObjectName("fromId")
        keep = box.addButton(_("Keep what was entered"), QMessageBox.ButtonRole.AcceptRole)
        keep.setObjectName("keepEntered")
        back = box.addButton(_("Go back"), QMessageBox.ButtonRole.RejectRole)
        back.setObjectName("goBack")
        box.setDefaultButton(from_id)
        box.exec()
        clicked = box.clickedButton()
        return "id" if clicked is from_id else "entered" if clicked is keep else None

    def take_from_id(self) -> None:
        info = parse_id_number(self.inputs["id_number"].text())
        self.inputs["birth_date"].setText(info.birth_date.isoformat())
        set_combo(self.inputs["sex"], info.sex)

    def _write(self, *, allow_duplicate: bool, relation: str | None) -> None:
        values = self.checked_values()
        store = self.ctx.store
        pid, mid, old_relation = self.person_id, self.membership_id, self.initial_relation

        def work(_state):
            # One intent, one service: the fields and the relation in one transaction and one undo entry.
            if pid is None:
                return person_service.save_person(store, values=values, allow_duplicate=allow_duplicate)
            return person_service.save_person_edit(
                store, person_id=pid, changes=values, allow_duplicate=allow_duplicate, membership_id=mid,
                relation=relation if mid and relation and relation != old_relation else None)

        self.ctx.tasks.run(work, title=_("Saving"), on_done=self._saved, on_error=lambda e: self._failed(e, relation),
                           parent=self)

    def _saved(self, changes) -> None:
        self.saved_changes = changes
        self.ctx.data_changed(changes)
        self.accept()

    def _failed(self, error: BaseException, relation: str | None) -> None:
        if isinstance(error, person_service.DuplicatePersonError):
            if ask_duplicate(self, error.candidates):
                self._write(allow_duplicate=True, relation=relation)
            return
        if isinstance(error, ValidationErrors):
            for err in error.errors:
                show_message(self.messages.get(err.field or "") or self.general, err.message)
            return
        self.ctx.errors.show(error, self)


class _MaskedField(QObject):
    """A masked number field: clicking it says how to edit; typing replaces the whole number (the
    full number is never shown, so no audit entry is needed)."""

    def __init__(self, dialog: PersonDialog):
        super().__init__(dialog)
        self.dialog = dialog

    def eventFilter(self, obj, event):  # noqa: N802 - Qt API
        if not isinstance(obj, QLineEdit) or not obj.isReadOnly():
            return False
        kind = event.type()
        key = next((k for k, w in self.dialog.inputs.items() if w is obj), None)
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.FocusIn):
            # Said under the field (a tooltip alone is easily missed).
            if key in self.dialog.messages:
                show_message(self.dialog.messages[key], obj.toolTip(), warning=True)
            QToolTip.showText(obj.mapToGlobal(obj.rect().bottomLeft()), obj.toolTip(), obj)
            return False
        if kind == QEvent.Type.KeyPress and event.text() and event.text().isprintable() and \
                not event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            obj.setReadOnly(False)
            obj.setToolTip("")
            if key in self.dialog.messages:
                show_message(self.dialog.messages[key], None)
            if key in getattr(self.dialog, "reveal_buttons", {}):
                self.dialog.reveal_buttons[key].setEnabled(False)  # nothing hidden left to show
            obj.clear()
            obj.insert(event.text())
            obj.textEdited.emit(obj.text())
            return True
        return False


def describe_candidates(candidates: list[dict[str, Any]]) -> str:
    lines = []
    for c in candidates[:8]:
        lines.append(_("{name}, born {birth}, ID {id}, {address}").format(
            name=c.get("name") or "", birth=c.get("birth_date") or "?", id=mask_id(c.get("id_number")) or "-",
            address=c.get("current_address") or ""))
    return "\n".join(lines)


def ask_duplicate(parent: QWidget, candidates: list[dict[str, Any]]) -> bool:
    """Offer the existing record(s) before a second one is made; True = create anyway."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(_("Possible duplicate"))
    box.setText(_("This person may already be in the register:"))
    box.setInformativeText(describe_candidates(candidates) + "\n\n" +
                           _("Create a second record anyway? (Choose No and search for the existing one.)"))
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.button(QMessageBox.StandardButton.Yes).setText(_("Create anyway"))
    box.button(QMessageBox.StandardButton.No).setText(_("Do not create"))
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


__all__ = ["PersonDialog", "ask_duplicate", "QFormLayout"]


def _scrolled(widget: QWidget) -> QWidget:
    """The fields scroll when they (and their messages) are taller than a small screen at 150 %."""
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QFrame, QScrollArea

    class _VerticalScroll(QScrollArea):
        """Scrolls up and down only: as wide as the fields need (the dialog widens with them)."""

        def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
            inner = self.widget().minimumSizeHint() if self.widget() is not None else QSize(0, 0)
            bar = self.verticalScrollBar().sizeHint().width()
            return QSize(inner.width() + bar + 2 * self.frameWidth(), 160)

    area = _VerticalScroll()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(widget)
    return area


def _fit_screen(dialog: QDialog, form: QWidget) -> None:
    """As large as the fields want, but never taller or wider than the screen."""
    screen = dialog.screen()
    if screen is None:
        return
    area = screen.availableGeometry()
    want = form.sizeHint()
    bar = dialog.style().pixelMetric(dialog.style().PixelMetric.PM_ScrollBarExtent, None, dialog)
    width = min(area.width(), max(dialog.sizeHint().width(), want.width() + bar + 64))
    height = min(area.height() - 40, dialog.sizeHint().height() + max(0, want.height() - 200))
    dialog.resize(width, max(height, 300))
