"""What a person reads on the printed 会议记录: a resolution's 责任人 (not 房主, the owner of a house),
the signature date kept on one line, and no "quorum met" for a kind of meeting without a quorum rule."""

from __future__ import annotations

import datetime as dt

from db.meetings import kinds
from db.meetings import meetings as mt
from db.meetings.rules import parse_rule
from db.print_jobs import PrintJob, make_pdf
from tests import pdf_tools


def test_minutes_read_right(store):
    from db.demo import generate

    generate(store, households=60, seed=3)
    held = [m for m in mt.meeting_ids(store, status="held") if mt.resolutions(store, meeting_id=m)]
    no_rule = [m for m in held
               if parse_rule(kinds.get_kind(store, mt.get_meeting(store, m)["kind_id"])["quorum"]) is None]
    assert no_rule, "the demo has a held meeting of a kind without a quorum rule"
    pdf = make_pdf(store, PrintJob("minutes", {"meeting": no_rule[0]}), today=dt.date(2026, 11, 1)).pdf
    text = pdf_tools.text(pdf, layout=True)
    assert "责任人" in text and "房主" not in text
    assert "达到法定人数" not in text and "无法定人数要求" in text
    lines = text.splitlines()
    assert any("日期：＿＿＿＿年＿＿月＿＿日" in line for line in lines)  # the date is not cut after 月
    assert any("主持人（签名）" in line and "记录人（签名）" in line for line in lines)
