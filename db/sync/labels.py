"""Names of the synced tables as people read them (shared by the conflicts queue and bundle previews)."""

from __future__ import annotations

from i18n import N_, _

TABLE_LABELS = {"grid": N_("grids"), "compound": N_("compounds"), "building": N_("buildings"),
                "unit": N_("units"), "household": N_("households"), "person": N_("residents"),
                "membership": N_("household members"), "tag": N_("tags"), "person_tag": N_("person tags"),
                "visit": N_("visits"), "life_event": N_("life events"), "audit_entry": N_("audit entries")}


def table_label(table: str) -> str:
    label = TABLE_LABELS.get(table)
    return _(label) if label else table
