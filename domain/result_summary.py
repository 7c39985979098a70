"""The published figures of a vote (公示): one pure function from a tally to what every surface shows.

The printed 公示 sheet, the public page, the resident's page, the console, ``yishi status --json`` and the audit
export all show :class:`ResultSummary`, made by :func:`summarize` and worded by :func:`summary_lines`, so that a
result is never published three times with three different figures. Every figure is exact (owners, area as a
decimal) beside its share as an exact fraction and as a percentage from :func:`domain.numbers.percent`; a share
that a rule compares with a threshold is rounded against that threshold (never shown across it), wherever it
appears.

No names, phones or rooms: only counts. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.errors import Lang
from domain.numbers import Area, Ratio, decimal_str, fraction_str, percent
from domain.result_text import outcome_label
from domain.rules import Condition, Rule, Threshold
from domain.tally_result import ZERO, Count, Outcome, TallyResult, ratio

AUDIT_NOTE = (
    ("记录链终点（哈希）公开：任何人都可以记下它。", "The stream's head (its hash) is public: anyone may note it."),
    ("核对每张选票与它是否一致，需要审计导出包（含房号和选票，只交审计人员，不在公开页面）。",
     "Checking the ballots against it needs the audit export, which holds rooms and ballots and goes to "
     "auditors, not to the public page."),
)
"""The two plain lines every public result carries under its head hash."""


class Share(BaseModel):
    """A count and its share of a base (all owners for participation, participants for the choices)."""

    model_config = ConfigDict(frozen=True)

    owners: int
    area: Area
    owners_ratio: Ratio | None
    area_ratio: Ratio | None
    owners_percent: str
    area_percent: str


class ConditionLine(BaseModel):
    """One condition of the rule: its threshold, the exact ratio, its percentage, and whether it is met."""

    model_config = ConfigDict(frozen=True)

    id: str
    stage: Literal["quorum", "approval"]
    name_zh: str
    name_en: str
    threshold: str
    ratio: Ratio | None
    percent: str
    met: bool


class Figures(BaseModel):
    """One tally as published: eligible, participating, for / against / abstain, the conditions, the outcome."""

    model_config = ConfigDict(frozen=True)

    eligible_owners: int
    eligible_area: Area
    participating: Share
    in_favour: Share
    against: Share
    abstain: Share
    conditions: tuple[ConditionLine, ...]
    quorum_met: bool | None
    outcome: Outcome


class DeemedFigures(BaseModel):
    model_config = ConfigDict(frozen=True)

    applied: bool
    direction: Literal["for", "against"] | None
    silent_owners: int
    silent_area: Area
    note_zh: str
    note_en: str
    figures: Figures | None
    """The deemed tally when deeming applied."""


class ByChannel(BaseModel):
    """Counted ballots by how they came in (an owner with both counts once, online: the rule of precedence)."""

    model_config = ConfigDict(frozen=True)

    online_owners: int
    online_area: Area
    paper_owners: int
    paper_area: Area


class Head(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    hash: str


class ResultSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    question_id: str
    sealed: bool
    """True: the final result (the box is sealed); False: the count so far."""
    rule_id: str
    rule_name_zh: str
    rule_name_en: str
    source_zh: str
    source_en: str
    cast: Figures
    """The ballots cast."""
    deeming: DeemedFigures | None
    decided_by: Literal["cast", "deemed"]
    outcome: Outcome
    """The outcome that decides (the deemed tally's when deeming applied)."""
    by_channel: ByChannel | None
    head: Head | None
    """The stream's final head (the ``ResultRecorded`` event) once sealed."""

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _bound(rule: Rule, measure: str, base: str, basis: str) -> Threshold | None:
    """The threshold a rule compares this share with, so the percentage never lands across it."""
    return next((c.threshold for c in (*rule.quorum, *rule.approval)
                 if (c.measure, c.base, c.basis) == (measure, base, basis)), None)


def _share(count: Count, base: Count, rule: Rule, measure: str | None, base_name: str) -> Share:
    by_owners, by_area = ratio(count.owners, base.owners), ratio(count.area, base.area)
    owners_bound = _bound(rule, measure, base_name, "owners") if measure else None
    area_bound = _bound(rule, measure, base_name, "area") if measure else None
    return Share(owners=count.owners, area=count.area, owners_ratio=by_owners, area_ratio=by_area,
                 owners_percent=percent(by_owners, owners_bound), area_percent=percent(by_area, area_bound))


def _conditions(result: TallyResult, rule: Rule) -> tuple[ConditionLine, ...]:
    defined: dict[str, Condition] = {c.id: c for c in (*rule.quorum, *rule.approval)}
    lines = []
    for c in result.conditions:
        threshold = defined[c.id].threshold if c.id in defined else c.threshold
        lines.append(ConditionLine(id=c.id, stage=c.stage, name_zh=c.name_zh, name_en=c.name_en,
                                   threshold=threshold.symbol(), ratio=c.ratio, percent=percent(c.ratio, threshold),
                                   met=c.met))
    return tuple(lines)


def figures(result: TallyResult, rule: Rule) -> Figures:
    """The published figures of one tally (ballots cast, or the deemed tally)."""
    eligible, participating = result.eligible, result.participating
    return Figures(
        eligible_owners=eligible.owners, eligible_area=eligible.area,
        participating=_share(participating, eligible, rule, "participating", "eligible"),
        in_favour=_share(result.in_favour, participating, rule, "in_favour", "participating"),
        against=_share(result.against, participating, rule, None, "participating"),
        abstain=_share(result.abstain, participating, rule, None, "participating"),
        conditions=_conditions(result, rule), quorum_met=result.quorum_met, outcome=result.outcome)


def summarize(result: TallyResult, rule: Rule, *, question_id: str = "main", sealed: bool,
              by_channel: Mapping[str, Count] | None = None, head: tuple[int, str] | None = None) -> ResultSummary:
    """The published figures of ``result`` (a sealed box's recorded tally, or the count so far) under ``rule``."""
    deeming = None
    if result.deeming is not None:
        d = result.deeming
        deeming = DeemedFigures(applied=result.deemed, direction=d.direction, silent_owners=d.silent.owners,
                                silent_area=d.silent.area, note_zh=d.zh, note_en=d.en,
                                figures=figures(d.result, rule) if result.deemed and d.result else None)
    channels = None
    if by_channel is not None:
        online, paper = by_channel.get("online", ZERO), by_channel.get("paper", ZERO)
        channels = ByChannel(online_owners=online.owners, online_area=online.area, paper_owners=paper.owners,
                             paper_area=paper.area)
    return ResultSummary(
        question_id=question_id, sealed=sealed, rule_id=rule.id, rule_name_zh=rule.name_zh,
        rule_name_en=rule.name_en, source_zh=rule.source_zh, source_en=rule.source_en,
        cast=figures(result, rule), deeming=deeming, decided_by="deemed" if result.deemed else "cast",
        outcome=result.effective_outcome, by_channel=channels,
        head=Head(seq=head[0], hash=head[1]) if head else None)


# ---- the one wording of the figures ----------------------------------------------------------------------------

_WORDS = {
    "zh": {"rule": "表决规则", "source": "法律依据", "eligible": "全体业主", "participating": "参与表决",
           "for": "同意", "against": "反对", "abstain": "弃权", "owners": "户", "m2": "㎡", "of_eligible": "占全体",
           "of_participating": "占参与", "met": "达到", "unmet": "未达到", "outcome": "表决结果",
           "so_far": "（目前计票，尚未封箱）", "deemed": "视为随多数后", "decides_deemed": "以视为随多数后的计票为准",
           "decides_cast": "以实际投票为准", "channels": "计入的选票", "online": "线上", "paper": "纸质",
           "head": "记录链终点", "sep": "：", "comma": "，", "by_owners": "按人数", "by_area": "按面积"},
    "en": {"rule": "Rule", "source": "Legal source", "eligible": "All owners", "participating": "Participating",
           "for": "For", "against": "Against", "abstain": "Abstain", "owners": "owners", "m2": "m²",
           "of_eligible": "of all", "of_participating": "of participants", "met": "met", "unmet": "NOT met",
           "outcome": "Result", "so_far": "(count so far, box not sealed)", "deemed": "With silent owners deemed",
           "decides_deemed": "the deemed tally decides", "decides_cast": "the ballots cast decide",
           "channels": "Ballots counted", "online": "online", "paper": "on paper", "head": "Stream head",
           "sep": ": ", "comma": ", ", "by_owners": "by headcount", "by_area": "by area"},
}  # fmt: skip


def exact(value: Fraction | None, shown: str) -> str:
    """``7/9 ≈ 77.8%``, ``1/2 = 50.0%`` (``=`` only when the percentage is the exact value), ``—`` when
    undefined: an exact share as text with the percentage shown for it."""
    if value is None:
        return shown
    sign = "=" if Fraction(shown.removesuffix("%")) == value * 100 else "≈"
    return f"{fraction_str(value)} {sign} {shown}"


def share_text(share: Share, of: str, lang: Lang) -> str:
    """``52 户（占全体 52/60 ≈ 86.7%），4321.5 ㎡（…）``: the count, then its share by headcount and by area."""
    w = _WORDS[lang]
    left, right = ("（", "）") if lang == "zh" else (" (", ")")
    owners = f"{share.owners} {w['owners']}{left}{w[of]} {exact(share.owners_ratio, share.owners_percent)}{right}"
    area = f"{decimal_str(share.area)} {w['m2']}{left}{w[of]} {exact(share.area_ratio, share.area_percent)}{right}"
    return f"{owners}{w['comma']}{area}"


def _figure_lines(f: Figures, lang: Lang) -> list[str]:
    w = _WORDS[lang]
    lines = [f"{w['eligible']}{w['sep']}{f.eligible_owners} {w['owners']}{w['comma']}"
             f"{decimal_str(f.eligible_area)} {w['m2']}",
             f"{w['participating']}{w['sep']}{share_text(f.participating, 'of_eligible', lang)}"]
    for key, share in (("for", f.in_favour), ("against", f.against), ("abstain", f.abstain)):
        lines.append(f"{w[key]}{w['sep']}{share_text(share, 'of_participating', lang)}")
    for c in f.conditions:
        name = c.name_en if lang == "en" else c.name_zh
        lines.append(f"[{w['met'] if c.met else w['unmet']}] {name}{w['sep']}{exact(c.ratio, c.percent)}")
    return lines


def summary_lines(s: ResultSummary, lang: Lang) -> list[str]:
    """The summary in words, one figure a line: the printed sheet, the CLI and notices say exactly this."""
    w = _WORDS[lang]
    en = lang == "en"
    lines = [f"{w['rule']}{w['sep']}{s.rule_name_en if en else s.rule_name_zh}",
             f"{w['source']}{w['sep']}{s.source_en if en else s.source_zh}", *_figure_lines(s.cast, lang)]
    if s.deeming is not None:
        lines.append(s.deeming.note_en if en else s.deeming.note_zh)
        if s.deeming.figures is not None:
            lines.append(f"{w['deemed']}{w['sep']}")
            lines += ["  " + line for line in _figure_lines(s.deeming.figures, lang)[1:]]
        lines.append(w["decides_deemed"] if s.decided_by == "deemed" else w["decides_cast"])
    if s.by_channel is not None:
        c = s.by_channel
        lines.append(f"{w['channels']}{w['sep']}{w['online']} {c.online_owners} {w['owners']}{w['comma']}"
                     f"{w['paper']} {c.paper_owners} {w['owners']}")
    lines.append(f"{w['outcome']}{w['sep']}{outcome_label(s.outcome, lang)}" + ("" if s.sealed else " " + w["so_far"]))
    if s.head is not None:
        lines.append(f"{w['head']}{w['sep']}seq={s.head.seq} hash={s.head.hash}")
        lines += [note[1] if en else note[0] for note in AUDIT_NOTE]
    return lines
