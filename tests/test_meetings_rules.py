"""Each statutory preset against hand-computed cases (DOMAIN.md "Meetings")."""

from __future__ import annotations

import pytest

from db.errors import ValidationError
from db.meetings.kinds import PRESETS, _preset_row, kind_rule
from db.meetings.rules import Attendance, Tally, check_tally, outcome, parse_rule, quorum_met


def preset(name: str):
    for i, p in enumerate(PRESETS):
        if p[0] == name:
            return kind_rule(_preset_row(i, p))
    raise KeyError(name)


def att(entitled, present, proxies=0, entitled_area=0.0, present_area=0.0):
    return Attendance(entitled=entitled, present=present, proxies=proxies, entitled_area=entitled_area,
                      present_area=present_area)


def test_rule_parsing_and_thresholds():
    half = parse_rule(">1/2")
    assert half.met(51, 100) and not half.met(50, 100)
    assert half.needed(100) == 51 and half.needed(101) == 51
    two_thirds = parse_rule(">=2/3")
    assert two_thirds.met(20, 30) and not two_thirds.met(19, 30)
    assert two_thirds.needed(30) == 20 and two_thirds.needed(31) == 21
    assert parse_rule("none") is None
    with pytest.raises(ValidationError) as exc:
        parse_rule("一半", field_name="quorum")
    assert exc.value.field == "quorum" and "一半" in exc.value.message


def test_residents_meeting_more_than_half_present_decides_by_more_than_half_of_present():
    rule = preset("居民会议")
    # 200 adults; 101 present: quorum met. 51 for of 101 present passes; 50 does not.
    assert quorum_met(rule, att(200, 101))[0]
    assert outcome(rule, att(200, 101), Tally(51, 30, 20)).passed is True
    r = outcome(rule, att(200, 101), Tally(50, 30, 21))
    assert r.decided and r.passed is False


def test_below_quorum_decides_nothing_whatever_the_votes():
    rule = preset("居民会议")
    r = outcome(rule, att(200, 100), Tally(100, 0, 0))  # exactly half is not more than half
    assert not r.decided and r.passed is None and not r.quorum_met
    assert "未达法定人数" in r.reason and "100" in r.reason


def test_representatives_meeting_needs_two_thirds():
    rule = preset("居民代表会议")
    assert not outcome(rule, att(30, 19), Tally(19, 0, 0)).decided
    r = outcome(rule, att(30, 20), Tally(11, 9, 0))  # 11 > 20/2
    assert r.decided and r.passed
    assert outcome(rule, att(30, 20), Tally(10, 5, 5)).passed is False


def test_party_meeting_counts_yes_against_those_entitled_not_those_present():
    rule = preset("党员大会")
    # 40 members entitled, 25 present (quorum > 20 met). 15 of 25 present voted yes: more than half
    # of those present, but not more than half of the 40 entitled (needs 21).
    r = outcome(rule, att(40, 25), Tally(15, 10, 0))
    assert r.decided and r.passed is False and "21" in r.reason
    assert outcome(rule, att(40, 25), Tally(21, 4, 0)).passed is True
    # Proxies are not allowed for party members.
    assert rule.proxy_limit == 0


def test_party_election_needs_four_fifths_attendance():
    rule = preset("党员大会")
    assert outcome(rule, att(40, 31), Tally(30, 1, 0)).passed is True  # ordinary motion
    r = outcome(rule, att(40, 31), Tally(30, 1, 0), election=True)  # 31 < 32 = 4/5 of 40
    assert not r.decided and "未达法定人数" in r.reason
    assert outcome(rule, att(40, 32), Tally(30, 2, 0), election=True).passed is True


def test_owners_double_majority_by_area_and_headcount():
    rule = preset("业主大会/三方联动会议")
    # 90 owners, 9000 m². 60 owners with 6000 m² take part: 2/3 of both.
    a = att(90, 60, entitled_area=9000.0, present_area=6000.0)
    assert quorum_met(rule, a)[0]
    # Ordinary matter: more than half of participating headcount (31) AND area (> 3000).
    assert outcome(rule, a, Tally(31, 29, 0, 3100.0, 2900.0)).passed is True
    r = outcome(rule, a, Tally(40, 20, 0, 2900.0, 3100.0))  # headcount yes, area no
    assert r.decided and r.passed is False and "面积" in r.reason
    # Repair funds (major): 3/4 of both: 45 owners and 4500 m².
    assert outcome(rule, a, Tally(45, 15, 0, 4500.0, 1500.0), major=True).passed is True
    assert outcome(rule, a, Tally(44, 16, 0, 4800.0, 1200.0), major=True).passed is False
    # Enough owners but too little area taking part: nothing decided.
    thin = att(90, 60, entitled_area=9000.0, present_area=5000.0)
    r = outcome(rule, thin, Tally(60, 0, 0, 5000.0, 0.0))
    assert not r.decided and "未达法定人数" in r.reason


def test_no_quorum_kinds_decide_by_majority_of_those_present():
    rule = preset("居民议事会")
    assert outcome(rule, att(15, 3), Tally(2, 1, 0)).passed is True
    assert outcome(rule, att(15, 3), Tally(1, 1, 1)).passed is False


def test_no_votes_yet_is_not_a_decision():
    r = outcome(preset("楼栋长会议"), att(10, 8), None)
    assert not r.decided and r.passed is None


def test_tally_larger_than_those_present_is_refused():
    errors = check_tally(att(100, 40, 2), Tally(30, 10, 3))  # 43 votes, 42 present or represented
    assert len(errors) == 1 and errors[0].field == "votes_for" and "42" in errors[0].message
    assert check_tally(att(100, 40, 2), Tally(30, 10, 2)) == []
    assert check_tally(att(10, 5), Tally(-1, 0, 0))[0].field == "votes_for"
