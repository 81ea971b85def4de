"""Residents' matters (民事): the list with what stands out (overdue, unposted, unevaluated) and a
matter's whole history, with the next step of the 五民 chain one key away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from db import printing_data as pd
from db.meetings import attachments as att_service
from db.meetings import matters as ms
from db.meetings import meetings as mt
from db.meetings.partners import list_orgs
from i18n import N_, _
from views.households.common import WrappingLabel, message_label, shortcut, show_message
from views.households.undo_action import notify
from views.meetings.forms import Field, FormDialog
from views.meetings.models import ALERT, LazyRowsModel, RowsModel
from views.meetings.session import _table
from views.widgets import fit_placeholder

COLUMNS = [("raised_on", N_("Raised")), ("title", N_("Matter")), ("category", N_("Category")),
           ("raised_by", N_("Raised by")), ("building", N_("Building")), ("stage", N_("Stage")),
           ("owner", N_("Carried out by")), ("deadline", N_("Deadline")), ("flags", N_("Attention"))]
HISTORY_COLUMNS = [("date", N_("Date")), ("step", N_("Step")), ("text", N_("What happened"))]
FLAGS = [("", N_("All matters")), ("open", N_("Not done")), ("overdue", N_("Overdue")),
         ("unposted", N_("Done, not posted")), ("unevaluated", N_("Posting over, not evaluated"))]


def _flags(r: dict) -> str:
    parts = []
    if r["overdue"]:
        parts.append(_("overdue"))
    if r["unposted"]:
        parts.append(_("not posted"))
    if r["unevaluated"]:
        parts.append(_("not evaluated"))
    return "、".join(parts)


class MattersPage(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.current: str | None = None
        self.search = QLineEdit(self)
        self.search.setObjectName("matterSearch")
        self.search.setPlaceholderText(_("Search matters: title or who raised it"))
        self.search.setClearButtonEnabled(True)
        fit_placeholder(self.search)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(150)
        self.timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self.timer.start())
        self.category = QComboBox(self)
        self.category.addItem(_("All categories"), None)
        for c in ms.CATEGORIES:
            self.category.addItem(c, c)
        self.flag = QComboBox(self)
        self.flag.setObjectName("matterFlag")
        for key, label in FLAGS:
            self.flag.addItem(_(label), key or None)
        for box in (self.category, self.flag):
            box.currentIndexChanged.connect(lambda _i: self.refresh())
        self.model = LazyRowsModel(COLUMNS, self._fetch, self, tasks=ctx.tasks, formatters={
            "stage": lambda r: _(ms.STAGES[r["stage"]]), "flags": _flags},
            colour=lambda r, k: ALERT if (k in ("deadline", "flags") and (r["overdue"] or r["unposted"]
                                                                         or r["unevaluated"])) else None)
        self.view = _table(self.model, self, "matterTable", (
            "2026-10-30", "夜间电动车被盗", "设施", "欧阳娜娜", "百步亭花园10栋", "办理中（民事民办）", "社区卫生服务站",
            "2026-11-30"))
        self.view.selectionModel().currentRowChanged.connect(lambda *_a: self._selected())
        self.count = QLabel(self)
        self.history_model = RowsModel(HISTORY_COLUMNS, self)
        self.history = _table(self.history_model, self, "matterHistory", ("2026-10-30", "评价"))
        self.detail = WrappingLabel(self)  # claims the height its text needs (a long matter was cut)
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = message_label(self)

        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)  # takes the room left: its placeholder reads in full at 150 %
        for w in (self.category, self.flag):
            bar.addWidget(w)
        actions = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, label, keys, slot in (
                ("raise", _("Raise a matter…"), "Ctrl+N", self.raise_matter),
                ("agenda", _("On a meeting's agenda…"), "Ctrl+G", self.put_on_agenda),
                ("decide", _("Decide…"), "Ctrl+J", self.decide),
                ("assign", _("Assign…"), "Ctrl+A", self.assign),
                ("progress", _("Progress…"), "Ctrl+P", self.progress),
                ("done", _("Done…"), "Ctrl+D", self.complete),
                ("post", _("Posted…"), "Ctrl+T", self.post),
                ("evaluate", _("Evaluation…"), "Ctrl+E", self.evaluate),
                ("receipt", _("Print receipt"), "Ctrl+R", self.print_receipt),
                ("photos", _("Photos…"), "Ctrl+Shift+P", self.show_photos)):
            b = QPushButton(label, self)
            b.setObjectName(f"matter-{key}")
            b.setToolTip(keys)
            b.clicked.connect(lambda _c=False, s=slot: s())
            shortcut(self, keys, slot)
            self.buttons[key] = b
            actions.addWidget(b)
        actions.addStretch(1)

        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.detail)
        rl.addWidget(self.history, 1)
        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(bar)
        ll.addWidget(self.view, 1)
        ll.addWidget(self.count)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(right)
        split.setObjectName("mattersSplit")
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        # The history keeps room for its date, step and a readable text at any text size.
        right.setMinimumWidth(self.fontMetrics().horizontalAdvance("会") * 26)
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.setWordWrap(True)
        self.history.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.split = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(split, 1)
        layout.addWidget(self.message)
        # Two rows of buttons fit at 150 % text on a 1366-pixel screen.
        first, second = QHBoxLayout(), QHBoxLayout()
        for i, b in enumerate(self.buttons.values()):
            (first if i < 5 else second).addWidget(b)
        first.addStretch(1)
        second.addStretch(1)
        layout.addLayout(first)
        layout.addLayout(second)
        shortcut(self, "Ctrl+F", self.search.setFocus)

    def _fetch(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return ms.matter_rows(self.ctx.store, ids)

    def refresh(self) -> None:
        store = self.ctx.store
        text, category, flag = self.search.text().strip() or None, self.category.currentData(), self.flag.currentData()
        page = LazyRowsModel.PAGE

        def work(_state):
            ids = ms.matter_ids(store, category=category, flag=flag, text=text)
            return ids, ms.matter_rows(store, ids[:page])

        def done(result) -> None:
            ids, first = result
            keep = self.current
            self.model.set_ids(ids, first)
            self.count.setText(_("{n} matters").format(n=len(ids)))
            if keep in ids:
                self.view.selectRow(ids.index(keep))
            elif ids:
                self.view.selectRow(0)

        self.ctx.tasks.run(work, title=_("Residents' matters"), on_done=done, parent=self, io=True)

    def _selected(self) -> None:
        index = self.view.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.ids):
            return
        self.current = self.model.ids[index.row()]
        self.load_history()

    def load_history(self) -> None:
        if not self.current:
            return
        store, mid = self.ctx.store, self.current

        def work(_s):
            return ms.get_matter(store, mid), ms.history(store, mid)

        def done(result) -> None:
            matter, events = result
            self.history_model.set_rows(events)
            self.detail.setText(_("{title} — {stage}. {description}").format(
                title=matter["title"], stage=_(ms.STAGES[matter["stage"]]), description=matter["description"] or ""))

        self.ctx.tasks.run(work, title=_("Residents' matters"), on_done=done, parent=self, io=True)

    # -- the 五民 steps -------------------------------------------------------------------------------
    def _dialog(self, title: str, fields: list[Field], save, *, need_current: bool = True) -> bool:
        if need_current and not self.current:
            show_message(self.message, _("Choose a matter first."))
            return False
        show_message(self.message, None)
        dialog = FormDialog(self.ctx, title, fields, save, self)
        if dialog.exec():
            notify(self, _("{action}: saved").format(action=title))
            self.refresh()
            self.load_history()
            return True
        return False

    def raise_matter(self) -> None:
        from db.register.visits import recent_visits

        store = self.ctx.store
        buildings = [("", None)] + [(label, bid) for bid, label in pd.buildings(store)]
        held = mt.meeting_rows(store, mt.meeting_ids(store)[:200])
        meetings = [("", None)] + [(f"{(r['starts_at'] or '')[:10]} {r['title']}", mid) for mid, r in
                                   sorted(held.items(), key=lambda kv: kv[1]["starts_at"] or "", reverse=True)]
        visits = [("", None)] + [(f"{v['visit_date']} {v['address'] or ''} {v['visitor'] or ''}", v["id"])
                                 for v in recent_visits(store, limit=200)]
        self._dialog(_("Raise a matter"), [
            Field("title", _("Matter")), Field("description", _("Details"), "multiline"),
            Field("raised_by", _("Raised by")), Field("channel", _("Channel"), "choice", [(c, c) for c in ms.CHANNELS]),
            Field("category", _("Category"), "choice", [(c, c) for c in ms.CATEGORIES]),
            Field("building_id", _("Building"), "choice", buildings),
            Field("raised_on", _("Raised on"), placeholder="2026-11-25"),
            Field("visit_id", _("From the visit"), "choice", visits),
            Field("source_meeting_id", _("From the meeting"), "choice", meetings)],
            lambda v: ms.raise_matter(store, matter=v), need_current=False)

    def put_on_agenda(self) -> None:
        store = self.ctx.store
        planned = mt.meeting_rows(store, mt.meeting_ids(store, status="planned")[:200])
        choices = [(f"{r['starts_at'][:16].replace('T', ' ')} {r['title']}", mid) for mid, r in planned.items()]
        mid = self.current
        self._dialog(_("On a meeting's agenda"), [Field("meeting_id", _("Meeting"), "choice", choices)],
                     lambda v: ms.put_on_agenda(store, matter_id=mid, meeting_id=v["meeting_id"]))

    def decide(self) -> None:
        store, mid = self.ctx.store, self.current
        motions: list[tuple[str, Any]] = [("", None)]
        if mid:
            motions += [(m["title"], m["id"]) for m in _matter_motions(store, mid)]
        self._dialog(_("Decide"), [
            Field("decided_by", _("Decided by"), "choice", [(_("by vote"), "vote"), (_("by the committee"), "committee")]),
            Field("decision", _("Decision"), "multiline"), Field("motion_id", _("Motion"), "choice", motions)],
            lambda v: ms.decide_matter(store, matter_id=mid, **v))

    def assign(self) -> None:
        store, mid = self.ctx.store, self.current
        orgs = [("", None)] + [(o["name"], o["id"]) for o in list_orgs(store)]
        self._dialog(_("Assign"), [Field("owner", _("Responsible person")), Field("partner_org_id", _("Partner organisation"),
                                                                      "choice", orgs),
                                   Field("deadline", _("Deadline"), placeholder="2026-12-31")],
                     lambda v: ms.assign_matter(store, matter_id=mid, **v))

    def progress(self) -> None:
        store, mid = self.ctx.store, self.current

        def save(v):
            changes = ms.add_progress(store, matter_id=mid, text=v["text"] or "", percent=v["percent"])
            if v.get("photo"):
                path = Path(v["photo"])
                data = path.read_bytes() if path.is_file() else b""
                changes += att_service.add_attachment(store, owner_table="progress_entry", owner_id=changes[0].row_id,
                                                      data=data, filename=path.name)
            return changes

        self._dialog(_("Progress"), [Field("text", _("Progress"), "multiline"),
                                     Field("percent", _("Percent done"), "int", value=50),
                                     Field("photo", _("Photo file (optional)"), placeholder="/home/…/photo.jpg")], save)

    def complete(self) -> None:
        store, mid = self.ctx.store, self.current
        self._dialog(_("Concluded"), [Field("result", _("Result"), "multiline")],
                     lambda v: ms.complete_matter(store, matter_id=mid, result=v["result"] or ""))

    def post(self) -> None:
        store, mid = self.ctx.store, self.current
        self._dialog(_("Posted"), [Field("days", _("Days on the board"), "int", value=ms.DEFAULT_POSTING_DAYS,
                                         maximum=90)],
                     lambda v: ms.post_result(store, matter_id=mid, days=v["days"]))

    def evaluate(self) -> None:
        store, mid = self.ctx.store, self.current
        self._dialog(_("Evaluation"), [Field("name", _("Resident")),
                                       Field("rating", _("Rating"), "choice", [(r, r) for r in ms.RATINGS]),
                                       Field("comment", _("Comments"), "multiline")],
                     lambda v: ms.evaluate(store, matter_id=mid, **v))

    def show_photos(self, *, run: bool = True):
        """Photos of the matter and of its progress (work done), oldest first; more can be attached."""
        from views.meetings.photos import PhotoViewer

        if not self.current:
            show_message(self.message, _("Choose a matter first."))
            return None
        store, mid = self.ctx.store, self.current
        dialog = PhotoViewer(self.ctx, _("Photos of the matter"), lambda: att_service.matter_photos(store, mid), self,
                             owner=("matter", mid))
        if run:
            dialog.exec()
            self.load_history()
        return dialog

    def print_receipt(self, path: str | None = None) -> None:
        from db.print_jobs import PrintJob, make_pdf

        if not self.current:
            show_message(self.message, _("Choose a matter first."))
            return
        if path is None:
            path, _f = QFileDialog.getSaveFileName(self, _("Save as PDF"), str(Path.home() / "民事办理回执.pdf"),
                                                   "PDF (*.pdf)")
            if not path:
                return
        store, job = self.ctx.store, PrintJob("matter-receipt", {"matters": [self.current]})
        self.ctx.tasks.run(lambda _s: make_pdf(store, job), title=_("Printing"), io=True, parent=self,
                           on_done=lambda r: (Path(path).write_bytes(r.pdf), notify(self, path)))


def _matter_motions(store, matter_id: str) -> list[dict[str, Any]]:
    out = []
    for meeting_id in ms.meetings_of_matter(store, matter_id):
        out += [m for m in mt.motions(store, meeting_id) if m["matter"] in (None, matter_id)]
    return out
