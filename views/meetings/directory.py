"""Meeting kinds with their rules (the office edits the presets) and the partner-organisation
directory (业委会, 物业, 辖区单位, 社会组织) with contacts. Every save is a db/ service run as a task."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from db.meetings import kinds as kinds_service
from db.meetings import partners
from db.meetings.rules import ENTITLED, PASS_BASES, rule_text
from db.validation import mask
from i18n import N_, _
from views.households.common import message_label, shortcut, show_message
from views.meetings.forms import Field, FormDialog
from views.meetings.models import RowsModel
from views.meetings.session import _table

KIND_COLUMNS = [("name", N_("Meeting kind")), ("entitled", N_("Entitled")), ("quorum", N_("Quorum")),
                ("pass", N_("A motion needs")), ("double_majority", N_("Double majority")),
                ("proxy_limit", N_("Proxies per person"))]
ORG_COLUMNS = [("kind", N_("Kind")), ("name", N_("Organisation")), ("phone", N_("Phone")),
               ("address", N_("Address"))]
CONTACT_COLUMNS = [("name", N_("Contact person")), ("role", N_("Position")), ("phone", N_("Phone"))]
QUORUM_CHOICES = ("none", ">1/2", ">=2/3", ">=4/5")
PASS_CHOICES = (">1/2", ">=2/3", ">=3/4")


def _rule(text: str | None) -> str:
    try:
        return rule_text(text)
    except Exception:  # noqa: BLE001 - a rule typed on another laptop by a newer version
        return text or ""


def _kind_pass(r: dict[str, Any]) -> str:
    text = _("{rule} {base}").format(rule=_rule(r["pass_rule"] or ">1/2"),
                                     base=_(PASS_BASES.get(r["pass_base"] or "present", "")))
    if r["major_rule"]:
        text += _("; major matters {rule}").format(rule=_rule(r["major_rule"]))
    return text


def _phone(r: dict[str, Any]) -> str:
    return mask("phone", r["phone"]) or ""


def _phone_field(row: dict[str, Any]) -> Field:
    """Masked like everywhere: an edit shows the masked number as a hint; left empty, it is kept."""
    hint = _("{masked} (leave empty to keep it)").format(masked=_phone(row)) if row.get("phone") else ""
    return Field("phone", _("Phone"), placeholder=hint)


def _keep_phone(values: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    return {**values, "phone": values.get("phone") or row.get("phone")}


class DirectoryPage(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.kind_model = RowsModel(KIND_COLUMNS, self, formatters={
            "entitled": lambda r: _(ENTITLED.get(r["entitled"] or "", r["entitled"] or "")),
            "quorum": lambda r: _rule(r["quorum"]), "pass": _kind_pass,
            "double_majority": lambda r: _("area and headcount") if r["double_majority"] else "",
            "proxy_limit": lambda r: _("no limit") if r["proxy_limit"] is None else str(r["proxy_limit"])})
        self.kind_view = _table(self.kind_model, self, "kindTable", (
            "业主大会/三方联动会议", "一户一名代表", "无法定人数要求", "实到人数的过半数；重大事项3/4以上", "面积和人数", "不限"))
        self.kind_view.doubleClicked.connect(lambda _i: self.edit_kind())
        self.org_model = RowsModel(ORG_COLUMNS, self, formatters={"phone": _phone})
        self.org_view = _table(self.org_model, self, "orgTable", ("社会组织", "幸福里物业服务中心", "139****5678"))
        self.org_view.selectionModel().currentRowChanged.connect(lambda *_a: self._org_selected())
        self.org_view.doubleClicked.connect(lambda _i: self.edit_org())
        self.contact_model = RowsModel(CONTACT_COLUMNS, self, formatters={"phone": _phone})
        self.contact_view = _table(self.contact_model, self, "contactTable", ("欧阳娜娜", "项目经理", "139****5678"))
        self.contact_view.doubleClicked.connect(lambda _i: self.edit_contact())
        self.message = message_label(self)
        self.orgs: list[dict[str, Any]] = []
        self.contacts: list[dict[str, Any]] = []

        kinds_box = QWidget(self)
        kl = QVBoxLayout(kinds_box)
        kl.setContentsMargins(0, 0, 0, 0)
        kl.addWidget(QLabel(_("Meeting kinds and their rules"), kinds_box))
        kl.addWidget(self.kind_view, 1)
        kl.addLayout(self._buttons(kinds_box, ((_("Add a kind…"), "", self.add_kind),
                                               (_("Edit rules…"), "Ctrl+R", self.edit_kind))))
        orgs_box = QWidget(self)
        ol = QVBoxLayout(orgs_box)
        ol.setContentsMargins(0, 0, 0, 0)
        ol.addWidget(QLabel(_("Partner organisations"), orgs_box))
        ol.addWidget(self.org_view, 1)
        ol.addLayout(self._buttons(orgs_box, ((_("Add an organisation…"), "Ctrl+N", self.add_org),
                                              (_("Edit organisation…"), "", self.edit_org))))
        contacts_box = QWidget(self)
        cl = QVBoxLayout(contacts_box)
        cl.setContentsMargins(0, 0, 0, 0)
        self.contacts_label = QLabel(_("Contacts"), contacts_box)
        cl.addWidget(self.contacts_label)
        cl.addWidget(self.contact_view, 1)
        cl.addLayout(self._buttons(contacts_box, ((_("Add a contact…"), "Ctrl+K", self.add_contact),
                                                  (_("Edit contact…"), "", self.edit_contact))))
        right = QSplitter(Qt.Orientation.Horizontal, self)
        right.addWidget(orgs_box)
        right.addWidget(contacts_box)
        right.setChildrenCollapsible(False)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(kinds_box)
        split.addWidget(right)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(split, 1)
        layout.addWidget(self.message)

    def _buttons(self, parent: QWidget, specs) -> QHBoxLayout:
        row = QHBoxLayout()
        for text, keys, slot in specs:
            b = QPushButton(text, parent)
            b.clicked.connect(lambda _c=False, s=slot: s())
            if keys:
                b.setToolTip(keys)
                shortcut(self, keys, slot)
            row.addWidget(b)
        row.addStretch(1)
        return row

    # -- loading --------------------------------------------------------------------------------
    def refresh(self) -> None:
        store = self.ctx.store

        def work(_s):
            kinds_service.ensure_default_kinds(store)
            return kinds_service.list_kinds(store), partners.list_orgs(store), partners.list_contacts(store)

        def done(result) -> None:
            kinds, self.orgs, self.contacts = result
            self.kind_model.set_rows(kinds)
            keep = self._current(self.org_view, self.org_model)
            self.org_model.set_rows(self.orgs)
            ids = [o["id"] for o in self.orgs]
            if ids:
                self.org_view.selectRow(ids.index(keep["id"]) if keep and keep["id"] in ids else 0)
            self._org_selected()

        self.ctx.tasks.run(work, title=_("Meetings"), on_done=done, parent=self, io=True)

    def _current(self, view, model) -> dict[str, Any] | None:
        index = view.currentIndex()
        return model.rows[index.row()] if index.isValid() and index.row() < len(model.rows) else None

    def _org_selected(self) -> None:
        org = self._current(self.org_view, self.org_model)
        rows = [c for c in self.contacts if org and c["org_id"] == org["id"]]
        self.contact_model.set_rows(rows)
        self.contacts_label.setText(_("Contacts of {org}").format(org=org["name"]) if org else _("Contacts"))

    def _dialog(self, title: str, fields: list[Field], save, aliases: dict[str, str] | None = None) -> bool:
        show_message(self.message, None)
        dialog = FormDialog(self.ctx, title, fields, save, self, aliases=aliases)
        self.last_dialog = dialog
        if dialog.exec():
            self.refresh()
            return True
        return False

    # -- kinds ----------------------------------------------------------------------------------
    def kind_fields(self, k: dict[str, Any]) -> list[Field]:
        rules = [(_rule(x), x) for x in QUORUM_CHOICES]
        passes = [(_rule(x), x) for x in PASS_CHOICES]
        return [
            Field("name", _("Meeting kind"), value=k.get("name")),
            Field("entitled", _("Who is entitled"), "choice", [(_(v), key) for key, v in ENTITLED.items()],
                  value=k.get("entitled") or "invited"),
            Field("quorum", _("Attendance quorum"), "choice", rules, value=k.get("quorum") or "none", editable=True),
            Field("pass_rule", _("A motion needs"), "choice", passes, value=k.get("pass_rule") or ">1/2",
                  editable=True),
            Field("pass_base", _("Counted"), "choice", [(_(v), key) for key, v in PASS_BASES.items()],
                  value=k.get("pass_base") or "present"),
            Field("major_rule", _("Major matters need"), "choice", [(_("as other motions"), "")] + passes,
                  value=k.get("major_rule"), editable=True),
            Field("election_quorum", _("Elections need present"), "choice", [(_("as the quorum"), "")] + rules,
                  value=k.get("election_quorum"), editable=True),
            Field("double_majority", _("Double majority by floor area and headcount"), "check",
                  value=k.get("double_majority")),
            Field("proxy_limit", _("Proxies one person may hold (empty: no limit)"),
                  value=k.get("proxy_limit"), placeholder=_("no limit")),
            Field("source", _("Source of the rule"), "multiline", value=k.get("source")),
        ]

    def edit_kind(self, kind: dict[str, Any] | None = None) -> bool:
        kind = kind or self._current(self.kind_view, self.kind_model)
        if kind is None:
            show_message(self.message, _("Choose a meeting kind first."))
            return False
        store, kid = self.ctx.store, kind["id"]
        return self._dialog(_("Rules of {kind}").format(kind=kind["name"]), self.kind_fields(kind),
                            lambda v: kinds_service.save_kind(store, kind_id=kid, values=_kind_values(v)))

    def add_kind(self) -> bool:
        store = self.ctx.store
        top = max([k["sort_order"] or 0 for k in self.kind_model.rows] + [0])
        return self._dialog(_("Add a meeting kind"), self.kind_fields({}),
                            lambda v: kinds_service.save_kind(store, values={**_kind_values(v),
                                                                             "sort_order": top + 1}))

    # -- partner organisations ----------------------------------------------------------------------
    def _org_fields(self, o: dict[str, Any]) -> list[Field]:
        return [Field("name", _("Organisation"), value=o.get("name")),
                Field("kind", _("Kind"), "choice", [(k, k) for k in partners.ORG_KINDS], value=o.get("kind")),
                Field("address", _("Address"), value=o.get("address")),
                _phone_field(o),
                Field("notes", _("Notes"), "multiline", value=o.get("notes"))]

    def add_org(self) -> bool:
        store = self.ctx.store
        return self._dialog(_("Add an organisation"), self._org_fields({}),
                            lambda v: partners.save_org(store, **v))

    def edit_org(self) -> bool:
        org = self._current(self.org_view, self.org_model)
        if org is None:
            show_message(self.message, _("Choose an organisation first."))
            return False
        store = self.ctx.store
        return self._dialog(_("Edit organisation"), self._org_fields(org),
                            lambda v: partners.save_org(store, org_id=org["id"], **_keep_phone(v, org)))

    def _contact_fields(self, c: dict[str, Any]) -> list[Field]:
        return [Field("name", _("Contact person"), value=c.get("name")), Field("role", _("Position"), value=c.get("role")),
                _phone_field(c)]

    def add_contact(self) -> bool:
        org = self._current(self.org_view, self.org_model)
        if org is None:
            show_message(self.message, _("Add or choose the organisation first."))
            return False
        store = self.ctx.store
        return self._dialog(_("Add a contact of {org}").format(org=org["name"]), self._contact_fields({}),
                            lambda v: partners.save_contact(store, org_id=org["id"], **v))

    def edit_contact(self) -> bool:
        contact = self._current(self.contact_view, self.contact_model)
        if contact is None:
            show_message(self.message, _("Choose a contact first."))
            return False
        store = self.ctx.store
        return self._dialog(_("Edit contact"), self._contact_fields(contact),
                            lambda v: partners.save_contact(store, org_id=contact["org_id"], contact_id=contact["id"],
                                                            **_keep_phone(v, contact)))


def _kind_values(v: dict[str, Any]) -> dict[str, Any]:
    out = dict(v)
    for key in ("major_rule", "election_quorum", "proxy_limit", "source"):
        if out.get(key) in ("", None):
            out[key] = None
    out["double_majority"] = bool(out.get("double_majority"))
    return out
