"""The rule engine: attendance quorum and what a motion needs, by the meeting kind's preset.

Pure functions over plain numbers (no database), so each statutory preset can be checked against
hand-computed cases. A rule is text the office can edit: "none", or a comparison and a fraction,
">1/2" (more than half), ">=2/3" (two thirds or more), ">=3/4", ">=4/5".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

from db.errors import ValidationError
from i18n import N_, _

_RULE = re.compile(r"^\s*(>=|>|≥)\s*(\d+)\s*/\s*(\d+)\s*$")

ENTITLED = {"adults": N_("all adult residents"), "households": N_("one representative per household"),
            "representatives": N_("residents' representatives"), "party_members": N_("party members"),
            "owners": N_("owners"), "invited": N_("those invited")}
PASS_BASES = {"present": N_("of those present"), "entitled": N_("of those entitled")}


@dataclass(frozen=True)
class Rule:
    strict: bool  # ">": more than; ">=": at least
    share: Fraction

    def met(self, value: float, base: float) -> bool:
        if base <= 0:
            return False
        need = Fraction(base) * self.share
        return value > need if self.strict else value >= need

    def needed(self, base: int) -> int:
        """The smallest whole number of people that meets the rule out of base."""
        exact = self.share * base
        if self.strict:
            return int(exact) + 1
        return int(exact) if exact.denominator == 1 else int(exact) + 1

    def text(self) -> str:
        n, d = self.share.numerator, self.share.denominator
        if self.strict and self.share == Fraction(1, 2):
            return _("more than half")
        if self.strict:
            return _("more than {n}/{d}").format(n=n, d=d)
        return _("at least {n}/{d}").format(n=n, d=d)


def parse_rule(text: str | None, *, field_name: str = "quorum") -> Rule | None:
    """None for "none"/empty (no quorum); raises ValidationError naming the field otherwise."""
    if text is None or not str(text).strip() or str(text).strip().lower() in ("none", "无"):
        return None
    m = _RULE.match(str(text))
    if not m:
        raise ValidationError(_("“{value}” is not a rule: write none, >1/2, >=2/3, >=3/4 or >=4/5.").format(
            value=text), field=field_name)
    num, den = int(m.group(2)), int(m.group(3))
    if den == 0 or num == 0 or num > den:
        raise ValidationError(_("“{value}” is not a share between 0 and 1.").format(value=text), field=field_name)
    return Rule(strict=m.group(1) == ">", share=Fraction(num, den))


def rule_text(text: str | None) -> str:
    rule = parse_rule(text)
    return _("no quorum") if rule is None else rule.text()


@dataclass
class Attendance:
    """Counts of one meeting: entitled body, present (in person or by proxy), 列席, absent."""

    entitled: int
    present: int  # in person (entitled invitees only)
    proxies: int  # absent but represented by a proxy holder
    attending: int = 0  # 列席: present, not entitled to vote
    absent: int = 0
    entitled_area: float = 0.0
    present_area: float = 0.0  # in person or by proxy

    @property
    def participating(self) -> int:
        return self.present + self.proxies


@dataclass
class KindRule:
    quorum: str | None = ">1/2"
    pass_rule: str | None = ">1/2"
    pass_base: str = "present"
    major_rule: str | None = None
    election_quorum: str | None = None
    double_majority: bool = False
    proxy_limit: int | None = None


@dataclass
class Tally:
    votes_for: int = 0
    votes_against: int = 0
    votes_abstain: int = 0
    area_for: float = 0.0
    area_against: float = 0.0
    area_abstain: float = 0.0

    @property
    def cast(self) -> int:
        return self.votes_for + self.votes_against + self.votes_abstain


@dataclass
class Outcome:
    """decided False: the votes decide nothing (below quorum, no votes yet); passed then None."""

    decided: bool
    passed: bool | None
    reason: str
    quorum_met: bool = True
    figures: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        if not self.decided:
            return _("Not decided")
        return _("Passed") if self.passed else _("Not passed")


def quorum_met(kind: KindRule, att: Attendance, *, election: bool = False) -> tuple[bool, str]:
    """(met, reason when not met)."""
    rule_text_ = kind.election_quorum if election and kind.election_quorum else kind.quorum
    rule = parse_rule(rule_text_)
    if rule is None:
        return True, ""
    ok = rule.met(att.participating, att.entitled)
    if kind.double_majority and att.entitled_area > 0:
        area_ok = rule.met(att.present_area, att.entitled_area)
        if ok and not area_ok:
            return False, _("Below the quorum (未达法定人数): owners of {area:.2f} m² of {total:.2f} m² took part, "
                            "{rule} of the floor area is needed.").format(
                area=att.present_area, total=att.entitled_area, rule=rule.text())
    if ok:
        return True, ""
    return False, _("Below the quorum (未达法定人数): {present} of {entitled} present, {rule} needed "
                    "({need}).").format(present=att.participating, entitled=att.entitled, rule=rule.text(),
                                        need=rule.needed(att.entitled))


def outcome(kind: KindRule, att: Attendance, tally: Tally | None, *, major: bool = False,
            election: bool = False) -> Outcome:
    """What the votes decide under the kind's rule, with the reason in words."""
    figures = {"entitled": att.entitled, "present": att.participating}
    ok, why = quorum_met(kind, att, election=election)
    if not ok:
        return Outcome(False, None, why, quorum_met=False, figures=figures)
    if tally is None or tally.cast == 0:
        return Outcome(False, None, _("No votes have been recorded yet."), figures=figures)
    rule = parse_rule(kind.major_rule if major and kind.major_rule else kind.pass_rule, field_name="pass_rule")
    rule = rule or Rule(True, Fraction(1, 2))
    of_entitled = kind.pass_base == "entitled"
    base = att.entitled if of_entitled else att.participating
    head_ok = rule.met(tally.votes_for, base)
    figures.update(base=base, votes_for=tally.votes_for, needed=rule.needed(base))
    base_words = _("of those entitled") if of_entitled else _("of those present")
    if kind.double_majority:
        area_base = att.entitled_area if of_entitled else att.present_area
        area_ok = rule.met(tally.area_for, area_base)
        figures.update(area_base=area_base, area_for=tally.area_for)
        if head_ok and area_ok:
            return Outcome(True, True, _("Passed: {n} owners of {base} and {area:.2f} m² of {area_base:.2f} m² "
                                         "voted for, {rule} of both.").format(
                n=tally.votes_for, base=base, area=tally.area_for, area_base=area_base, rule=rule.text()),
                figures=figures)
        missing = []
        if not head_ok:
            missing.append(_("headcount {n} of {base}").format(n=tally.votes_for, base=base))
        if not area_ok:
            missing.append(_("floor area {area:.2f} of {area_base:.2f} m²").format(area=tally.area_for,
                                                                                  area_base=area_base))
        return Outcome(True, False, _("Not passed: {rule} of both headcount and floor area is needed; "
                                      "short on {what}.").format(rule=rule.text(), what="、".join(missing)),
                       figures=figures)
    if head_ok:
        return Outcome(True, True, _("Passed: {n} for, {rule} {base_words} ({base}) is {need}.").format(
            n=tally.votes_for, rule=rule.text(), base_words=base_words, base=base, need=rule.needed(base)),
            figures=figures)
    return Outcome(True, False, _("Not passed: {n} for, {rule} {base_words} ({base}) is {need}.").format(
        n=tally.votes_for, rule=rule.text(), base_words=base_words, base=base, need=rule.needed(base)),
        figures=figures)


def check_tally(att: Attendance, tally: Tally, *, double_majority: bool = False) -> list[ValidationError]:
    """A tally typed from paper: never more votes than people taking part, no negatives."""
    errors: list[ValidationError] = []
    for name, value in (("votes_for", tally.votes_for), ("votes_against", tally.votes_against),
                        ("votes_abstain", tally.votes_abstain), ("area_for", tally.area_for),
                        ("area_against", tally.area_against), ("area_abstain", tally.area_abstain)):
        if value is not None and value < 0:
            errors.append(ValidationError(_("The number “{field}” cannot be negative.").format(
                field=field_label(name)), field=name))
    if errors:
        return errors
    if tally.cast > att.participating:
        errors.append(ValidationError(_("The tally has {cast} votes (for {f}, against {a}, abstain {b}) but only "
                                        "{present} people are present or represented; check the votes "
                                        "for.").format(cast=tally.cast, f=tally.votes_for, a=tally.votes_against,
                                                       b=tally.votes_abstain, present=att.participating),
                                      field="votes_for"))
    area = tally.area_for + tally.area_against + tally.area_abstain
    if double_majority and att.present_area > 0 and area > att.present_area + 0.005:
        errors.append(ValidationError(_("The floor area voted ({area:.2f} m²) is more than the area of the owners "
                                        "taking part ({present:.2f} m²); check the area for.").format(
            area=area, present=att.present_area), field="area_for"))
    return errors


FIELD_LABELS = {"votes_for": N_("for"), "votes_against": N_("against"), "votes_abstain": N_("abstain"),
                "area_for": N_("floor area for"), "area_against": N_("floor area against"),
                "area_abstain": N_("floor area abstaining")}


def field_label(name: str) -> str:
    return _(FIELD_LABELS.get(name, name))


# -- motions with several options -------------------------------------------------------------------

@dataclass
class OptionResult:
    label: str
    outcome: Outcome
    adopted: bool = False


def options_outcome(kind: KindRule, att: Attendance, options: list[tuple[str, Tally | None]], *,
                    pick_one: bool, major: bool = False, election: bool = False) -> tuple[Outcome, list[OptionResult]]:
    """A motion with several options, each voted for/against/abstain and decided by the kind's rule
    (as a motion of its own). pick_one: one plan of several is adopted, the one passing with the most
    votes for (then floor area); a tie between the best decides nothing. Otherwise (a ballot of
    several items) each option stands on its own and the motion lists what passed."""
    results = [OptionResult(label, outcome(kind, att, tally, major=major, election=election))
               for label, tally in options]
    figures = {"entitled": att.entitled, "present": att.participating}
    ok, why = quorum_met(kind, att, election=election)
    if not ok:
        return Outcome(False, None, why, quorum_met=False, figures=figures), results
    if not results or all(not r.outcome.decided for r in results):
        return Outcome(False, None, _("No votes have been recorded yet."), figures=figures), results
    passed = [(i, r) for i, r in enumerate(results) if r.outcome.passed]
    if not pick_one:
        for _i, r in passed:
            r.adopted = True
        names = "、".join(r.label for _i, r in passed)
        failed = "、".join(r.label for r in results if r.outcome.decided and not r.outcome.passed)
        waiting = "、".join(r.label for r in results if not r.outcome.decided)
        parts = []
        if names:
            parts.append(_("passed: {names}").format(names=names))
        if failed:
            parts.append(_("not passed: {names}").format(names=failed))
        if waiting:
            parts.append(_("no votes yet: {names}").format(names=waiting))
        return Outcome(True, bool(passed), "；".join(parts) + "。", figures=figures), results
    if not passed:
        rule = parse_rule(kind.major_rule if major and kind.major_rule else kind.pass_rule) or Rule(True, Fraction(1, 2))
        best = max((r for r in results if r.outcome.decided), key=lambda r: r.outcome.figures.get("votes_for", 0))
        return Outcome(True, False, _("No option was adopted: none has {rule} voting for (the most: {label}, "
                                      "{n} for).").format(rule=rule.text(), label=best.label,
                                                          n=best.outcome.figures.get("votes_for", 0)),
                       figures=figures), results

    def score(item: tuple[int, OptionResult]) -> tuple[int, float]:
        fig = item[1].outcome.figures
        return fig.get("votes_for", 0), fig.get("area_for", 0.0)

    ranked = sorted(passed, key=score, reverse=True)
    if len(ranked) > 1 and score(ranked[0]) == score(ranked[1]):
        tied = "、".join(r.label for _i, r in ranked if score((_i, r)) == score(ranked[0]))
        return Outcome(False, None, _("Tie: {names} have the same votes for; only one can be adopted, vote "
                                      "again between them.").format(names=tied), figures=figures), results
    winner = ranked[0][1]
    winner.adopted = True
    return Outcome(True, True, _("Adopted: {label} ({reason})").format(
        label=winner.label, reason=winner.outcome.reason), figures=figures), results


def check_option_tallies(att: Attendance, tallies: list[tuple[str, Tally]], *, pick_one: bool,
                         double_majority: bool = False) -> list[ValidationError]:
    """Each option's tally is a tally of its own (check_tally); with pick_one a person votes for one
    option only, so the votes for all options together cannot exceed those taking part."""
    errors: list[ValidationError] = []
    for i, (label, tally) in enumerate(tallies):
        for err in check_tally(att, tally, double_majority=double_majority):
            errors.append(ValidationError(_("Option “{label}”: {message}").format(label=label, message=err.message),
                                          field=f"option{i}:{err.field}"))
    if not errors and pick_one:
        total = sum(t.votes_for for _l, t in tallies)
        if total > att.participating:
            errors.append(ValidationError(_("The options have {n} votes for together but only {present} people "
                                            "are present or represented, and each may choose one option; check "
                                            "the votes for.").format(n=total, present=att.participating),
                                          field="option0:votes_for"))
    return errors
