"""A small keyboard-first form dialog: fields from a spec, each with its message under it; the
save runs as a task on the writer, and a validation error names its field without closing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from db.errors import ValidationErrors
from i18n import _
from views.households.common import message_label, show_message, with_message


@dataclass
class Field:
    key: str
    label: str  # already translated
    kind: str = "text"  # text | multiline | choice | int | check
    choices: list[tuple[str, Any]] = field(default_factory=list)  # (shown, value)
    value: Any = None
    placeholder: str = ""
    editable: bool = False  # choice: may type a new value
    maximum: int = 100


class FormDialog(QDialog):
    def __init__(self, ctx, title: str, fields: list[Field], save: Callable[[dict[str, Any]], list],
                 parent: QWidget | None = None, *, aliases: dict[str, str] | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(title)
        self.save_fn = save
        self.aliases = aliases or {}  # error field name -> form field key
        self.widgets: dict[str, QWidget] = {}
        self.messages: dict[str, QLabel] = {}
        self.changes: list = []
        form = QFormLayout()
        for f in fields:
            w = self._widget(f)
            w.setObjectName(f.key)
            self.widgets[f.key] = w
            msg = message_label(self)
            self.messages[f.key] = msg
            form.addRow(f.label, with_message(w, msg))
        self.general = message_label(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(_("Save"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.general)
        layout.addWidget(buttons)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("会") * 34)

    def _widget(self, f: Field) -> QWidget:
        if f.kind == "multiline":
            w = QPlainTextEdit(self)
            w.setTabChangesFocus(True)
            w.setPlainText(f.value or "")
            w.setPlaceholderText(f.placeholder)
            w.setFixedHeight(self.fontMetrics().lineSpacing() * 4 + 12)
            return w
        if f.kind == "choice":
            w = QComboBox(self)
            w.setEditable(f.editable)
            for shown, value in f.choices:
                w.addItem(shown, value)
            i = w.findData(f.value)
            if i >= 0:
                w.setCurrentIndex(i)
            elif f.editable and f.value:
                w.setEditText(str(f.value))
            return w
        if f.kind == "int":
            w = QSpinBox(self)
            w.setRange(0, f.maximum)
            w.setValue(int(f.value or 0))
            return w
        if f.kind == "check":
            w = QCheckBox(self)
            w.setChecked(bool(f.value))
            return w
        w = QLineEdit(self)
        w.setText("" if f.value is None else str(f.value))
        w.setPlaceholderText(f.placeholder)
        return w

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, w in self.widgets.items():
            if isinstance(w, QPlainTextEdit):
                out[key] = w.toPlainText().strip() or None
            elif isinstance(w, QComboBox):
                data = w.currentData()
                text = w.currentText().strip()
                out[key] = data if data is not None and (not w.isEditable() or w.itemText(w.currentIndex()) == text) \
                    else (text or None)
            elif isinstance(w, QSpinBox):
                out[key] = w.value()
            elif isinstance(w, QCheckBox):
                out[key] = w.isChecked()
            else:
                out[key] = w.text().strip() or None
        return out

    def submit(self) -> None:
        for label in (*self.messages.values(), self.general):
            show_message(label, None)
        values = self.values()

        def done(changes) -> None:
            self.changes = changes or []
            self.ctx.data_changed(self.changes)
            self.accept()

        def failed(error: BaseException) -> None:
            if isinstance(error, ValidationErrors):
                for err in error.errors:
                    key = self.aliases.get(err.field or "", err.field or "")
                    show_message(self.messages.get(key) or self.general, err.message)
            else:
                show_message(self.general, getattr(error, "message", str(error)))

        self.ctx.tasks.run(lambda _s: self.save_fn(values), title=self.windowTitle(), on_done=done, on_error=failed,
                           parent=self)
