"""Meetings, minutes and residents' matters: kinds with rule presets, meetings, attendance,
motions and votes, resolutions, partner organisations, matters through the 五民 chain.

Services (the only writers) are in kinds, meetings, matters, partners and attachments; the rule
engine (quorum, what passes) is in rules and needs no database.
"""

from db.sync.conflicts import FIELD_LABELS, TABLE_LABELS
from i18n import N_

# The conflicts review queue names these tables and fields in words.
TABLE_LABELS.update({
    "meeting_kind": N_("meeting kinds"), "partner_org": N_("partner organisations"),
    "partner_contact": N_("partner contacts"), "meeting": N_("meetings"), "invitee": N_("meeting attendance"),
    "agenda_item": N_("agenda items"), "motion": N_("motions"), "vote": N_("votes"), "matter": N_("residents' matters"),
    "resolution": N_("resolutions"), "progress_entry": N_("progress entries"), "evaluation": N_("evaluations"),
    "attachment": N_("attachments")})
TABLE_LABELS["motion_option"] = N_("options of motions")
for _key, _label in {"votes_for": N_("votes for"), "votes_against": N_("votes against"),
                     "votes_abstain": N_("abstentions"), "status": N_("status"), "title": N_("title"),
                     "choice": N_("vote"), "starts_at": N_("time"), "place": N_("place")}.items():
    FIELD_LABELS.setdefault(_key, _label)
