"""`griddesk demo` with meetings, `griddesk meetings`, and the meeting forms of `griddesk print`."""

from __future__ import annotations

import datetime as dt

import pytest

from db import oplog
from db.meetings import matters
from db.meetings import meetings as mt
from db.meetings.demo import generate as meetings_demo
from db.print_jobs import FORMS, PrintJob, make_pdf
from tests import pdf_tools
from tests.test_cli import griddesk


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    r = griddesk("demo", "--db", str(db), "--households", "300", "--seed", "3")
    assert r.returncode == 0, r.stderr
    return db


def test_demo_year_of_meetings_and_matters_and_the_cli_lists_them(demo_db):
    r = griddesk("meetings", "--db", str(demo_db))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[-1] == "共 30 次会议"
    kinds_seen = {line.split("\t")[2] for line in lines[:-1]}
    assert {"党员大会", "居民议事会", "楼栋长会议"} <= kinds_seen
    held = [line.split("\t")[7] for line in lines[:-1] if "已召开" in line]
    r = griddesk("meetings", "show", "--db", str(demo_db), "--meeting", held[0])
    assert r.returncode == 0 and "应到" in r.stdout and ("通过" in r.stdout or "未达法定人数" in r.stdout)
    r = griddesk("meetings", "matters", "--db", str(demo_db))
    assert r.returncode == 0 and r.stdout.strip().endswith("共 120 件民事")
    stages = r.stdout
    for stage in ("已提出", "办理中", "已公示", "已评价"):
        assert stage in stages
    r = griddesk("meetings", "kinds", "--db", str(demo_db))
    assert "党员大会\tparty_members\t>1/2\t>1/2\tentitled" in r.stdout
    r = griddesk("check", "--db", str(demo_db))
    assert r.returncode == 0, r.stdout


def test_print_minutes_and_ballots_from_the_command_line(demo_db, tmp_path):
    r = griddesk("print", "--list")
    for form in ("minutes", "ballot", "meeting-signin", "notice-of-meeting", "resolution-posting",
                 "result-posting", "matter-receipt"):
        assert form in r.stdout
    r = griddesk("meetings", "--db", str(demo_db), "--status", "held")
    mid = r.stdout.splitlines()[0].split("\t")[7]
    out = tmp_path / "minutes.pdf"
    r = griddesk("print", "minutes", "--db", str(demo_db), "--meeting", mid, "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = pdf_tools.text(out)
    for words in ("会议记录", "主持人", "记录人", "应到", "表决情况", "会议决议", "主持人（签名）"):
        assert words in text
    out = tmp_path / "ballot.pdf"
    r = griddesk("print", "ballot", "--db", str(demo_db), "--meeting", mid, "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = pdf_tools.text(out)
    assert "表决票" in text and "001" in text and "赞成" in text and "弃权" in text


def test_every_meeting_form_prints_from_a_meeting(store, tmp_path):
    from db.demo import generate

    generate(store, households=120, seed=5)
    held = mt.meeting_ids(store, status="held")
    mid = next(m for m in held if mt.resolutions(store, meeting_id=m))
    title = mt.get_meeting(store, mid)["title"]
    for form in ("minutes", "ballot", "meeting-signin", "notice-of-meeting", "resolution-posting"):
        result = make_pdf(store, PrintJob(form, {"meeting": mid}), today=dt.date(2026, 11, 1))
        assert result.pages >= 1, form
        text = pdf_tools.text(result.pdf).replace("\n", "")
        assert title[:6] in text, form
    from db import printing_data as pd

    compound_id, compound = pd.compounds(store)[0]
    batch = make_pdf(store, PrintJob("notice-of-meeting", {"meeting": mid, "compound": compound}))
    buildings = pd.buildings(store, compound_id)
    assert batch.records == len(buildings) > 1 and batch.pages >= len(buildings)
    assert f"{buildings[-1][1]}全体居民" in pdf_tools.text(batch.pdf).replace("\n", "")
    signin = pdf_tools.text(make_pdf(store, PrintJob("meeting-signin", {"meeting": mid})).pdf)
    names = [r["name"] for r in mt.invitees(store, mid)]
    assert names[0] in signin and "****" in signin  # phone numbers masked
    done = [m for m in matters.matter_ids(store) if matters.get_matter(store, m)["done_on"]]
    receipt = pdf_tools.text(make_pdf(store, PrintJob("matter-receipt", {"matters": [done[0]]})).pdf)
    assert "民事办理回执" in receipt and matters.get_matter(store, done[0])["title"] in receipt
    posting = make_pdf(store, PrintJob("result-posting", {"matters": done[:3]}))
    text = pdf_tools.text(posting.pdf)
    assert "民事办理结果公示" in text and matters.get_matter(store, done[0])["result"] in text
    fonts = pdf_tools.fonts(posting.pdf)
    assert fonts and all(f["emb"] == "yes" for f in fonts)
    assert "result-posting" in FORMS
    assert oplog.compare_with_log(store) == []


def test_meetings_demo_scales_with_households(store):
    from db.demo import generate

    counts = generate(store, households=60, seed=2)
    assert counts["meetings"] == 12 and counts["matters"] == 24
    assert meetings_demo(store, seed=9, households=1000)["meetings"] == 100


def test_print_matter_by_an_ambiguous_title_lists_the_candidates_and_by_id_prints(store, tmp_path):
    first = matters.raise_matter(store, matter={"title": "楼道灯损坏", "raised_by": "张三",
                                                "raised_on": "2026-03-01"})[0].row_id
    second = matters.raise_matter(store, matter={"title": "楼道灯损坏", "raised_by": "李四",
                                                 "raised_on": "2026-05-01"})[0].row_id
    for mid in (first, second):
        matters.assign_matter(store, matter_id=mid, owner="物业", deadline="2026-06-01")
        matters.complete_matter(store, matter_id=mid, result="已修好")
    path = store.path
    store.close()
    out = tmp_path / "receipt.pdf"
    r = griddesk("print", "matter-receipt", "--db", str(path), "--matter", "楼道灯损坏", "--out", str(out))
    assert r.returncode != 0 and not out.exists()
    said = r.stdout + r.stderr
    assert "有 2 件民事的标题都是“楼道灯损坏”" in said, said
    assert first in said and second in said and "张三" in said and "李四" in said
    r = griddesk("print", "matter-receipt", "--db", str(path), "--matter", second, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "李四" in pdf_tools.text(out)
    r = griddesk("print", "matter-receipt", "--db", str(path), "--matter", "没有这件事", "--out", str(out))
    assert r.returncode != 0 and "没有这件事" in r.stdout + r.stderr
