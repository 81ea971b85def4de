"""A grid worker's first day: the first-start choice, a new community register, the demo banner,
the in-app guide, where data lives and the one name this computer goes by (the window shown at
once while the database opens is desktop/splash.py).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from db.errors import ValidationErrors
from i18n import _

DEMO = "demo"
BLANK = "blank"
HANDOVER = "handover"


def demo_db_path(data_folder: Path) -> Path:
    """The demo community has a file of its own, so the real register never mixes with it."""
    return data_folder / "demo.sqlite"


class FirstStartDialog(QDialog):
    """What to do on the very first start: look at the demo, start a register, receive a handover."""

    sig_chosen = Signal(str)
    """The person chose DEMO, BLANK or HANDOVER."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(_("Welcome to GridDesk"))
        self.setObjectName("firstStart")
        layout = QVBoxLayout(self)
        intro = QLabel(_("This computer has no register yet. How would you like to start?"))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.buttons: dict[str, QPushButton] = {}
        for key, title, text in (
            (BLANK, _("Start an empty register"),
             _("For your own community: its name, the grids with their workers and the compounds. "
               "Then add households, or import the ledger you have in Excel.")),
            (HANDOVER, _("Receive a handover bundle"),
             _("Your predecessor or the community office gave you a handover bundle (.GDB) on a USB stick "
               "or as a file: it is checked and imported into a new register.")),
            (DEMO, _("Look at the demo community"),
             _("A made-up community to try every screen. Nothing in it is real; start your own register "
               "any time from the banner or 文件 → 新建空白台账.")),
        ):
            # A button and its explanation under it (a QCommandLinkButton keeps its own small fonts
            # and does not follow the text size).
            button = QPushButton(title, self)
            font = button.font()
            font.setBold(True)
            button.setFont(font)
            button.setMinimumHeight(button.sizeHint().height() * 3 // 2)
            button.clicked.connect(lambda _c=False, k=key: self._choose(k))
            explain = QLabel(text, self)
            explain.setWordWrap(True)
            explain.setContentsMargins(12, 0, 12, 8)
            layout.addWidget(button)
            layout.addWidget(explain)
            self.buttons[key] = button
        where = QLabel("")
        where.setObjectName("hint")
        where.setWordWrap(True)
        self.where = where
        layout.addWidget(where)
        self.choice: str | None = None
        self.resize(640, self.sizeHint().height())

    def set_folder(self, folder: Path) -> None:
        self.where.setText(_("Data and backups stay on this computer in {folder}.").format(folder=folder))

    def _choose(self, key: str) -> None:
        self.choice = key
        self.accept()
        self.sig_chosen.emit(key)


class NewRegisterDialog(QDialog):
    """The community's name, its grids with their workers, and each grid's compounds."""

    GRID_ROWS = 3

    def __init__(self, parent: QWidget | None = None, *, worker: str = ""):
        super().__init__(parent)
        self.setWindowTitle(_("Start an empty register"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.community = QLineEdit()
        self.community.setPlaceholderText(_("e.g. 幸福里社区"))
        form.addRow(_("Community:"), self.community)
        layout.addLayout(form)
        hint = QLabel(_("One line per grid. Compounds: separate several with 、 or commas. Buildings, units and "
                        "doors can be added later in the register, or come with an imported ledger."))
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        layout.addWidget(hint)
        self.grids = QTableWidget(self.GRID_ROWS, 3)
        self.grids.setHorizontalHeaderLabels([_("Grid"), _("Grid worker"), _("Compounds")])
        header = self.grids.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.grids.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.grids.setItem(0, 0, QTableWidgetItem(_("Grid 1")))
        if worker:
            self.grids.setItem(0, 1, QTableWidgetItem(worker))
        layout.addWidget(self.grids, 1)
        add = QPushButton(_("Add a grid"))
        add.clicked.connect(lambda: self.grids.insertRow(self.grids.rowCount()))
        row = QHBoxLayout()
        row.addWidget(add)
        row.addStretch(1)
        layout.addLayout(row)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b42318")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("Start the register"))
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(720, 420)

    def _cell(self, row: int, col: int) -> str:
        item = self.grids.item(row, col)
        return item.text().strip() if item is not None else ""

    def values(self) -> dict:
        grids = []
        for r in range(self.grids.rowCount()):
            compounds = self._cell(r, 2).replace("，", "、").replace(",", "、").replace(";", "、").split("、")
            grids.append({"name": self._cell(r, 0), "worker": self._cell(r, 1), "compounds": compounds})
        return {"community": self.community.text(), "grids": grids}

    def _check(self) -> None:
        """Check like the service does (same messages), so a mistake shows here, not after opening."""
        from db.register.community import start_register

        try:
            start_register(_DryStore(), **self.values())
        except ValidationErrors as exc:
            self.error.setText("\n".join(e.message for e in exc.errors))
            self.error.show()
            return
        except _DryRun:
            pass
        self.accept()


class _DryRun(Exception):
    pass


class _DryStore:
    """Stops start_register right after its checks (its first touch of the database)."""

    @property
    def db(self):
        raise _DryRun


class DemoBanner(QWidget):
    """Always on top while the demo community is open: it is made-up data, and the way out."""

    def __init__(self, shell, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("demoBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("QWidget#demoBanner { background: #fff4d6; border-bottom: 1px solid #f0c36d; }"
                           "QWidget#demoBanner QLabel { color: #7a4b00; }")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        self.text = QLabel(_("Demo community: every person and address here is made up. Your own work belongs "
                             "in a register of your own."))
        self.text.setWordWrap(True)
        layout.addWidget(self.text, 1)
        self.new_button = QPushButton(_("Start an empty register…"))
        self.handover_button = QPushButton(_("Receive a handover…"))
        for button in (self.new_button, self.handover_button):
            layout.addWidget(button)
        if shell is not None:
            self.new_button.clicked.connect(lambda: shell.start_blank_register(self.window()))
            self.handover_button.clicked.connect(lambda: shell.start_handover(self.window()))


# -- help -------------------------------------------------------------------------------------
def guide_html() -> str:
    return _(
        "<h3>First steps</h3><ol>"
        "<li>设置 → 使用本机的工作人员: enter your name. It is recorded with every change and is the default "
        "visitor of new visits.</li>"
        "<li>Places: 住户台账 → 新增地点… adds grids, compounds, buildings and units; or 文件 → 导入台账… "
        "(Ctrl+Shift+I) reads the ledger you already have in Excel or CSV.</li>"
        "<li>Households: Ctrl+N adds one, Ctrl+E edits it, Enter edits the selected person, Ctrl+M adds a member "
        "in the household editor.</li>"
        "<li>Visits: Ctrl+R records a visit; 走访 lists the households due, overdue first.</li>"
        "<li>Printing: 打印 makes the forms (meeting notice, sign-in sheet, 入户登记表) as PDF or on a printer.</li>"
        "<li>Handover: 同步与交接 writes or reads bundles on a USB stick.</li></ol>"
        "<h3>Keys</h3><table cellpadding='3'>"
        "<tr><td>Ctrl+1 … Ctrl+7</td><td>switch screens</td></tr>"
        "<tr><td>Ctrl+F</td><td>search (name, pinyin initials, ID or phone digits, address)</td></tr>"
        "<tr><td>Ctrl+N / Ctrl+E</td><td>new / edit household</td></tr>"
        "<tr><td>Ctrl+R</td><td>record a visit</td></tr>"
        "<tr><td>Ctrl+Z</td><td>undo the last edit</td></tr>"
        "<tr><td>Enter</td><td>save in every editor</td></tr>"
        "<tr><td>Ctrl+Shift+I / Ctrl+Shift+E</td><td>import a ledger / export to Excel</td></tr>"
        "<tr><td>Ctrl+O / Ctrl+Shift+N</td><td>open / create a database file</td></tr></table>"
        "<p>ID and phone numbers are masked everywhere; showing one in full is recorded.</p>")


def locations_html(db_path: Path, backup_folder: Path, settings_file: str) -> str:
    return _(
        "<p><b>This register (database file):</b><br>{db}</p>"
        "<p><b>Backups:</b><br>{backups}<br>A full backup is made on the first start of each day, and before "
        "every import and restore. 设置 → 备份 lists them and restores one.</p>"
        "<p><b>Settings (your name, text size, this computer's name):</b><br>{settings}</p>"
        "<p>To move to another computer, copy the database file (with the app closed), or hand over a "
        "bundle from 同步与交接.</p>").format(db=db_path, backups=backup_folder, settings=settings_file)


class HelpDialog(QDialog):
    def __init__(self, title: str, html: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setHtml(html)
        layout.addWidget(self.browser, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(680, 560)


def show_guide(window) -> HelpDialog:
    dialog = HelpDialog(_("Getting started"), guide_html(), window)
    dialog.open()
    return dialog


def show_locations(window) -> HelpDialog:
    from db.backup import backup_dir

    store = window.ctx.store
    dialog = HelpDialog(_("Where data and backups live"),
                        locations_html(store.path, backup_dir(store.path), window.ctx.settings.qs.fileName()),
                        window)
    dialog.open()
    return dialog


# -- this computer's name ---------------------------------------------------------------------
def device_text(store) -> tuple[str, str]:
    """This computer as every screen shows it: its name and the fingerprint's first characters
    (the same as the device card and the receivers' lists); the tooltip has the rest."""
    from db.sync import identity

    me = identity.identity(store)
    short = me.fingerprint[:9]  # two groups: enough to tell computers apart at a glance
    text = _("This computer: {name} ({fp})").format(name=me.name, fp=short)
    tip = _("Device name: {name}\nFingerprint: {fp}\nDatabase node id: {node}").format(
        name=me.name, fp=me.fingerprint, node=store.node_id)
    return text, tip


def apply_computer_name(store, settings) -> None:
    """A computer is named once (settings), not once per database: a database whose device still
    has its made-up name takes the computer's name."""
    from db.sync import identity

    name = settings.device_name
    if name and identity.name_is_default(store):
        identity.rename_device(store, name)
