"""Character picker for rare characters (生僻字) that input methods lack: find one by pinyin (fu, fǔ,
fu3), by code point (2B5AF, U+2B5AF) or by pasting it, see its code, block, readings and whether the
screen and printing fonts have it, add a reading people use for it, and insert it into a field."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from db.errors import ValidationErrors
from db.register import readings
from desktop.appearance import shows_char
from i18n import _
from printouts.fonts import printable_code
from views.widgets import scaled_font


class CharPickerDialog(QDialog):
    """Search and insert one character; sig_picked carries it (the dialog stays open for more)."""

    sig_picked = Signal(str)
    """A character was chosen to insert."""

    def __init__(self, ctx, parent: QWidget | None = None, *, query: str = ""):
        super().__init__(parent)
        self.ctx = ctx
        self.found: list[readings.CharInfo] = []
        self.setObjectName("charPicker")
        self.setWindowTitle(_("Insert a rare character"))
        self.query = QLineEdit(self)
        self.query.setObjectName("charQuery")
        self.query.setPlaceholderText(_("Pinyin (fu, fǔ, fu3), code point (2B5AF) or the character"))
        self.query.setClearButtonEnabled(True)
        self.count = QLabel(self)
        self.count.setObjectName("hint")
        self.results = QListWidget(self)
        self.results.setObjectName("charResults")
        self.results.setViewMode(QListView.ViewMode.IconMode)
        self.results.setResizeMode(QListView.ResizeMode.Adjust)
        self.results.setMovement(QListView.Movement.Static)
        self.results.setUniformItemSizes(True)
        self.results.setFont(scaled_font(1.8))
        cell = self.results.fontMetrics().height() * 3 // 2
        self.results.setGridSize(QSize(cell, cell))
        self.results.setMinimumSize(cell * 7 + 24, cell * 3 + 8)
        self.detail_char = QLabel(self)
        self.detail_char.setFont(scaled_font(3.2))
        self.detail_char.setMinimumWidth(self.detail_char.fontMetrics().height() * 3 // 2)
        self.detail_char.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail = QLabel(self)
        self.detail.setObjectName("charDetail")
        self.detail.setWordWrap(True)
        self.reading = QLineEdit(self)
        self.reading.setObjectName("charReading")
        self.reading.setPlaceholderText(_("Reading, e.g. ji"))
        self.add_reading_button = QPushButton(_("Add this reading"), self)
        self.add_reading_button.setObjectName("addReading")
        self.add_reading_button.setAutoDefault(False)
        self.add_reading_button.clicked.connect(self.add_reading)
        self.remove_readings_button = QPushButton(_("Remove the added readings"), self)
        self.remove_readings_button.setObjectName("removeReadings")
        self.remove_readings_button.setAutoDefault(False)
        self.remove_readings_button.clicked.connect(self.remove_readings)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox(self)
        self.insert_button = buttons.addButton(_("Insert"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.insert_button.setObjectName("insertChar")
        buttons.addButton(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        buttons.accepted.connect(self.insert)
        buttons.rejected.connect(self.reject)

        detail_row = QHBoxLayout()
        detail_row.addWidget(self.detail_char)
        detail_row.addWidget(self.detail, 1)
        reading_row = QHBoxLayout()
        reading_row.addWidget(QLabel(_("A reading people use:"), self))
        reading_row.addWidget(self.reading, 1)
        reading_row.addWidget(self.add_reading_button)
        reading_row.addWidget(self.remove_readings_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.query)
        layout.addWidget(self.count)
        layout.addWidget(self.results, 1)
        layout.addLayout(detail_row)
        layout.addLayout(reading_row)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.search)
        self.query.textChanged.connect(lambda _t: self._timer.start())
        self.query.returnPressed.connect(self.search)
        self.results.currentItemChanged.connect(lambda *_a: self.show_detail())
        self.results.itemDoubleClicked.connect(lambda _item: self.insert())
        self.query.setText(query)
        self.show_detail()
        self.resize(max(560, self.sizeHint().width()), max(480, self.sizeHint().height()))

    # -- searching -------------------------------------------------------------------------------------
    def search(self) -> None:
        self._timer.stop()
        text = self.query.text()
        store = self.ctx.store
        self.ctx.tasks.run(lambda _state: readings.find_characters(text, store=store),
                           title=_("Looking up characters"), on_done=self._found, parent=self)

    def _found(self, found: list[readings.CharInfo]) -> None:
        self.found = found
        self.results.clear()
        for info in found:
            item = QListWidgetItem(info.char)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            item.setToolTip(f"{info.code} {info.block} {' '.join(info.readings)}")
            item.setData(Qt.ItemDataRole.UserRole, info)
            self.results.addItem(item)
        if self.query.text().strip() and not found:
            self.count.setText(_("No character found. Try the code point (e.g. 2B5AF) or another reading."))
        else:
            self.count.setText(_("{n} characters").format(n=len(found)) if found else "")
            if len(found) >= readings.PICKER_LIMIT:
                self.count.setText(_("The first {n} characters (standard characters first); type the code "
                                     "point to go straight to one.").format(n=len(found)))
        if found:
            self.results.setCurrentRow(0)
        self.show_detail()

    def current(self) -> readings.CharInfo | None:
        item = self.results.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def show_detail(self) -> None:
        info = self.current()
        self.insert_button.setEnabled(info is not None)
        self.add_reading_button.setEnabled(info is not None)
        self.remove_readings_button.setVisible(bool(info and info.added))
        if info is None:
            self.detail_char.setText("")
            self.detail.setText(_("Type a pinyin reading or a code point to find a character."))
            return
        self.detail_char.setText(info.char)
        parts = [f"{info.code}　{info.block}",
                 _("Readings: {readings}").format(readings="、".join(info.readings)) if info.readings
                 else _("No reading known: add the one people use below, so pinyin search finds the name.")]
        if info.added:
            parts.append(_("Added by people here: {readings}").format(readings="、".join(info.added)))
        if info.standard:
            parts.append(_("No. {n} of the 通用规范汉字表 (standard character)").format(n=info.standard))
        screen, paper = shows_char(info.char, self.results.font()), printable_code(ord(info.char))
        if screen and paper:
            parts.append(_("Shown on screen and printed."))
        else:
            parts.append(_("Missing from the fonts: {where}.").format(where="、".join(
                w for w, ok in ((_("screen"), screen), (_("printing"), paper)) if not ok)))
        self.detail.setText("\n".join(parts))

    # -- actions ---------------------------------------------------------------------------------------
    def insert(self) -> None:
        info = self.current()
        if info is not None:
            self.sig_picked.emit(info.char)
            self.message.setText(_("Inserted “{char}” ({code}).").format(char=info.char, code=info.code))

    def add_reading(self) -> None:
        info = self.current()
        if info is None:
            return
        store, char, reading = self.ctx.store, info.char, self.reading.text()

        def work(_state):
            return readings.add_reading(store, char=char, reading=reading)

        def done(changes) -> None:
            self.ctx.data_changed(changes)
            self.reading.clear()
            self.message.setText(_("Reading added: the names with “{char}” are found by it now.").format(char=char))
            self.search()

        def failed(error: BaseException) -> None:
            if isinstance(error, ValidationErrors):
                self.message.setText("\n".join(e.message for e in error.errors))
            else:
                self.ctx.errors.show(error, self)

        self.ctx.tasks.run(work, title=_("Saving"), on_done=done, on_error=failed, parent=self)

    def remove_readings(self) -> None:
        info = self.current()
        if info is None or not info.added:
            return
        store, char = self.ctx.store, info.char

        def done(changes) -> None:
            self.ctx.data_changed(changes)
            self.message.setText(_("The readings added for “{char}” were removed.").format(char=char))
            self.search()

        self.ctx.tasks.run(lambda _state: readings.remove_readings(store, char=char), title=_("Saving"),
                           on_done=done, parent=self)
