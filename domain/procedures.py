"""Procedure definitions as data, periods, cost shares and candidate selection (pure: no clock, no I/O).

Periods (every one settable per deliberation, down to seconds):

- ``P15D`` / ``P2W``: a legal period in days (民法典 第201–203条): the first day is not counted, it ends at
  24:00 Beijing time of the last day, moved to the next working day when that day is a rest day or holiday.
- ``PT30S``, ``P1DT2H``: an exact duration (any time part makes it exact), for demos and tests.
- ``10wd``: working days on the State Council holiday schedule (:mod:`domain.legal_calendar`).
- ``P0D``/``PT0S``: no wait at all.
- ``eod``: until the end of the day (24:00 Beijing time) of the instant the period starts at; a vote that
  closes at 24:00 (00:00 of the next day) gives that next day. The default of ``paper_entry``, the window after
  the close in which the committee still enters paper ballots (filled in before the close) until the box seals.

Years and months (``P1Y``, ``P2M``) are refused: write the days, so the count is never ambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.errors import N_, DomainError, Items, Label
from domain.legal_calendar import (
    BEIJING,
    HolidayFile,
    PeriodEnd,
    deadline_days,
    deadline_working_days,
    period_end_instant,
)
from domain.numbers import Area
from domain.roll import RoomEntry
from domain.tally_result import TallyResult

ProcedureId = Literal["elevator", "property", "consultation"]


class ProcedureError(DomainError):
    """A procedure cannot be started as asked (unknown procedure, rule or period)."""


class PeriodError(ProcedureError):
    """A period is written in a form we cannot read, or names no period of the procedure."""


class CostShareError(DomainError):
    """A cost-sharing plan cannot be computed (no weight at all, a total with more than two decimals)."""


_ISO = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_WD = re.compile(r"^(?P<n>\d+)\s*wd$")


class Period(BaseModel):
    """A parsed period; ``end(start)`` gives the instant it ends."""

    model_config = ConfigDict(frozen=True)

    text: str
    kind: Literal["exact", "days", "working_days", "end_of_day"]
    seconds: int = 0
    count: int = 0

    @property
    def on_calendar(self) -> bool:
        """Whether its end depends on the holiday schedule (days and working days, not exact durations or
        the end of a day)."""
        return self.kind in ("days", "working_days") and self.count != 0

    def deadline(self, start: datetime, holiday_file: HolidayFile | None = None) -> PeriodEnd:
        """Its end from ``start`` with the calendar as installed now (``chinese_calendar`` + ``holiday_file``),
        and the years it had to count on weekends only. Workflows get this from the ``compute_deadlines``
        activity, never by calling it themselves: the installed calendar changes with upgrades."""
        if self.kind == "end_of_day":  # 24:00 Beijing time of the day ``start`` falls on
            return PeriodEnd(ends_at=period_end_instant(start.astimezone(BEIJING).date()))
        if not self.on_calendar:
            return PeriodEnd(ends_at=start + timedelta(seconds=self.seconds))
        day = start.astimezone(BEIJING).date()
        if self.kind == "days":
            found = deadline_days(day, self.count, holiday_file)
        else:
            found = deadline_working_days(day, self.count, holiday_file)
        return PeriodEnd(ends_at=found.ends_at, last_day=found.last_day, calendar_fallback=found.calendar_fallback,
                         fallback_years=found.fallback_years)

    def end(self, start: datetime, holiday_file: HolidayFile | None = None) -> datetime:
        """The instant it ends (see :meth:`deadline`)."""
        return self.deadline(start, holiday_file).ends_at

    def span(self) -> timedelta:
        """The length as a plain duration (days count as 24 h); refused for working days."""
        if self.kind in ("working_days", "end_of_day"):
            raise PeriodError(N_("'%(text)s' counts working days; a fixed duration is needed here (P3D, PT1H)"),
                              text=self.text)
        return timedelta(seconds=self.seconds, days=self.count)


PAPER_ENTRY = "paper_entry"
"""The period after the close in which paper ballots are still entered, until the box seals (see ``eod``)."""


def check_paper_entry(period: Period) -> Period:
    """The paper-entry window is a plain duration or ``eod``: it is computed inside the ballot box workflow,
    where a calendar lookup would not be deterministic (a legal or working-day count is refused)."""
    if period.kind in ("exact", "end_of_day") or period.count == 0:
        return period
    raise PeriodError(
        N_("the paper-entry window '%(text)s' must be an exact duration (PT12H; PT0S for none) or eod (24:00 of the "
                "closing day)"), text=period.text,
    )


def paper_entry_until(closes_at: datetime, text: str | None) -> datetime:
    """When paper entry ends (and the box seals) for a vote closing at ``closes_at``; ``eod`` by default."""
    return check_paper_entry(parse_period(text or "eod")).end(closes_at)


def _bad_period(text: str) -> PeriodError:
    return PeriodError(
        N_("cannot read period '%(text)s'; write P15D (days), PT30S (exact duration), 10wd (working days) or eod "
                "(24:00 that day)"), text=text,
    )


def parse_period(text: str) -> Period:
    """Parse ``P15D``, ``P2W``, ``PT30S``, ``P1DT2H`` or ``10wd`` (see the module docstring)."""
    raw = text.strip()
    if raw.lower() == "eod":
        return Period(text="eod", kind="end_of_day")
    if match := _WD.match(raw):
        return Period(text=raw, kind="working_days", count=int(match["n"]))
    match = _ISO.match(raw.upper())
    if match is None or raw.upper() in ("P", "PT"):
        raise _bad_period(text)
    if match["y"] or match["mo"]:
        raise PeriodError(N_("period '%(text)s' uses years or months; write days instead, e.g. P365D"), text=text)
    days = int(match["w"] or 0) * 7 + int(match["d"] or 0)
    clock = int(match["h"] or 0) * 3600 + int(match["mi"] or 0) * 60 + int(match["s"] or 0)
    if clock:
        return Period(text=raw, kind="exact", seconds=days * 86400 + clock)
    return Period(text=raw, kind="days", count=days)


class ProcedureDef(BaseModel):
    """One procedure: its default rule, the rules it accepts, and its periods by name (RULES.md)."""

    model_config = ConfigDict(frozen=True)

    id: ProcedureId
    name_zh: str
    name_en: str
    default_rule: str
    rules: tuple[str, ...]
    periods: dict[str, str]
    unconfirmed: tuple[str, ...] = ()
    """Periods whose default is a figure not confirmed from the primary text (⚠ in RULES.md)."""


_VOTE_PERIODS = {"voting": "P15D", "remind_before": "P3D", "checkpoint": "PT1H", PAPER_ENTRY: "eod"}

PROCEDURES: dict[str, ProcedureDef] = {
    "elevator": ProcedureDef(
        id="elevator", name_zh="加装电梯", name_en="Elevator installation",
        default_rule="cc278-special", rules=("cc278-special", "consent-2of3"),
        periods={"feasibility": "10wd", "notice": "P0D", **_VOTE_PERIODS, "share_confirmation": "P15D",
                 "publicity": "P15D", "mediation": "10wd", "escalation": "10wd", "permit": "P90D",
                 "construction": "P180D", "acceptance": "P30D"},
        unconfirmed=("feasibility", "escalation", "permit", "construction", "acceptance"),
    ),
    "property": ProcedureDef(
        id="property", name_zh="更换物业", name_en="Property company replacement",
        default_rule="cc278-ordinary", rules=("cc278-ordinary",),
        periods={"review": "10wd", "notice": "P15D", **_VOTE_PERIODS, "result_posting": "P3D",
                 "objection": "P7D", "mediation": "10wd", "escalation": "10wd", "dismissal_notice": "P60D",
                 "handover": "P30D", "interim_service": "P180D"},
        unconfirmed=("review", "objection", "escalation"),
    ),
    "consultation": ProcedureDef(
        id="consultation", name_zh="协商议事", name_en="Community consultation",
        default_rule="headcount-majority", rules=("headcount-majority", "cc278-ordinary", "cc278-special"),
        periods={"acceptance": "5wd", "notice": "P7D", "positions": "P7D", "voting": "P7D",
                 "remind_before": "P1D", "checkpoint": "PT1H", PAPER_ENTRY: "eod", "milestone": "P90D",
                 "feedback": "P7D"},
        unconfirmed=("acceptance", "notice", "positions", "voting", "milestone", "feedback"),
    ),
}


ROUND_MARK = "~r"


def round_stream(deliberation_id: str, rnd: int) -> str:
    """The stream of a deliberation's ballot box in round ``rnd``: its own for round 1, ``…~r2`` after (a
    stream holds one box)."""
    return deliberation_id if rnd == 1 else f"{deliberation_id}{ROUND_MARK}{rnd}"


def deliberation_of(stream_id: str) -> str:
    """The deliberation a ballot box's stream belongs to (the inverse of :func:`round_stream`)."""
    head, mark, rnd = stream_id.rpartition(ROUND_MARK)
    return head if mark and head and rnd.isdigit() and int(rnd) > 1 else stream_id


def get_procedure(procedure: str) -> ProcedureDef:
    try:
        return PROCEDURES[procedure]
    except KeyError:
        valid = ", ".join(PROCEDURES)
        raise ProcedureError(N_("no procedure '%(procedure)s'; valid: %(valid)s"),
                             procedure=procedure, valid=valid) from None


def check_rule(procedure: str, rule_id: str | None) -> str:
    """The rule to use: ``rule_id`` if the procedure accepts it, else its default when none is given."""
    definition = get_procedure(procedure)
    if rule_id is None:
        return definition.default_rule
    if rule_id not in definition.rules:
        valid = ", ".join(definition.rules)
        raise ProcedureError(N_("%(procedure)s does not take rule '%(rule_id)s'; valid: %(valid)s"),
                             procedure=Label("procedure", definition.id), rule_id=rule_id, valid=valid)
    return rule_id


INITIATORS: dict[str, tuple[str, ...]] = {
    "elevator": ("owner", "committee"),
    "property": ("owners_committee", "property_committee", "petition"),
    "consultation": ("resident", "grid_worker", "committee"),
}
PETITION_SHARE = Fraction(1, 5)  # 物业管理条例 第13条: ≥20% of owners may call a meeting


def check_initiation(procedure: str, role: str, initiated_by: str, owners: frozenset[str],
                     signers: Iterable[str] = ()) -> None:
    """Who may start the procedure: an owner of the entrance (or the committee for them) for an elevator;
    the 业委会, the 物管会 or a petition of ≥20% of the scope's owners for a property company; residents, a
    grid worker or the committee for a consultation."""
    allowed = INITIATORS[get_procedure(procedure).id]
    if role not in allowed:
        raise ProcedureError(N_("role '%(role)s' cannot start this procedure; allowed: %(allowed)s"),
                             role=role, allowed=Items(allowed))
    if role == "owner" and initiated_by not in owners:
        raise ProcedureError(N_("%(initiated_by)s owns no room in this scope; the committee may start it for them"),
                             initiated_by=initiated_by)
    if role == "petition":
        valid = set(signers) & owners
        if not owners or Fraction(len(valid), len(owners)) < PETITION_SHARE:
            raise ProcedureError(
                N_("%(count)s of %(owners_count)s owners signed the petition; at least 20%% are needed"),
                count=len(valid), owners_count=len(owners))


def resolve_periods(procedure: str, overrides: Mapping[str, str] | None = None) -> dict[str, Period]:
    """The procedure's periods with ``overrides`` applied; unknown names are refused with the valid list."""
    definition = get_procedure(procedure)
    unknown = sorted(set(overrides or {}) - set(definition.periods))
    if unknown:
        valid = ", ".join(definition.periods)
        raise PeriodError(N_("%(procedure)s has no period %(unknown)s; settable: %(valid)s"),
                          procedure=Label("procedure", definition.id), unknown=Items(unknown), valid=valid)
    merged = {**definition.periods, **(overrides or {})}
    periods = {name: parse_period(text) for name, text in merged.items()}
    check_paper_entry(periods[PAPER_ENTRY])
    return periods


# ---- cost shares (加装电梯) ------------------------------------------------------------------------------


class Share(BaseModel):
    model_config = ConfigDict(frozen=True)

    owner_id: str
    rooms: tuple[str, ...]
    weight: Area
    amount: Area


def floor_coefficient(floor: str, coefficients: Mapping[str, Decimal], ground_floor: str = "1",
                      ground_coefficient: Decimal = Decimal(0)) -> Decimal:
    """An explicit coefficient for the floor, else ``ground_coefficient`` on the ground floor and
    ``floor - ground`` above it (one step per floor: who climbs more, pays more)."""
    if floor in coefficients:
        return Decimal(coefficients[floor])
    if floor == ground_floor:
        return ground_coefficient
    try:
        return Decimal(max(int(floor) - int(ground_floor), 0))
    except ValueError:
        raise CostShareError(N_("floor '%(floor)s' is not a number; give it a coefficient"), floor=floor) from None


def cost_shares(total: Decimal, rooms: Iterable[RoomEntry], coefficients: Mapping[str, Decimal] | None = None,
                *, ground_floor: str = "1", ground_coefficient: Decimal = Decimal(0),
                by_area: bool = True) -> tuple[Share, ...]:
    """Split ``total`` (yuan, at most two decimals) by floor coefficient (× area when ``by_area``).

    Amounts are in fen and sum exactly to ``total``: each room gets the floor of its exact quota, and the
    fen left over go one each to the largest remainders (ties by room id). An owner's share is the sum
    over their rooms.
    """
    fen = total * 100
    if fen != fen.to_integral_value() or total < 0:
        raise CostShareError(N_("total %(total)s must be ≥ 0 with at most 2 decimals"), total=total)
    listed = sorted(rooms, key=lambda r: r.room_id)
    weights = {r.room_id: floor_coefficient(r.floor, coefficients or {}, ground_floor, ground_coefficient)
               * (r.area_m2 if by_area else 1) for r in listed}
    whole = sum(weights.values(), Decimal(0))
    if whole <= 0:
        raise CostShareError(N_("every room has coefficient 0; nothing to split by"))
    quotas = {rid: Fraction(int(fen)) * Fraction(w) / Fraction(whole) for rid, w in weights.items()}
    cents = {rid: int(q) for rid, q in quotas.items()}
    left = int(fen) - sum(cents.values())
    for rid in sorted(quotas, key=lambda rid: (-(quotas[rid] - cents[rid]), rid))[:left]:
        cents[rid] += 1
    by_owner: dict[str, list[RoomEntry]] = {}
    for room in listed:
        by_owner.setdefault(room.owner_id, []).append(room)
    return tuple(
        Share(owner_id=owner, rooms=tuple(r.room_id for r in owned),
              weight=sum((weights[r.room_id] for r in owned), Decimal(0)),
              amount=Decimal(sum(cents[r.room_id] for r in owned)) / 100)
        for owner, owned in sorted(by_owner.items())
    )


# ---- candidate selection (更换物业) --------------------------------------------------------------------


class Selection(BaseModel):
    model_config = ConfigDict(frozen=True)

    winner: str | None
    reason: Literal["winner", "tie", "none"]
    qualified: tuple[str, ...]
    tied: tuple[str, ...] = ()


def select_candidate(results: Mapping[str, TallyResult], prefix: str = "candidate:") -> Selection:
    """A candidate needs the double majority; of those that have it, the most approvals (owners voting
    for) wins. A tie at the top, or no candidate with the double majority, means a re-vote."""
    qualified = {qid.removeprefix(prefix): r for qid, r in results.items() if qid.startswith(prefix) and r.approved}
    if not qualified:
        return Selection(winner=None, reason="none", qualified=())
    best = max(r.in_favour.owners for r in qualified.values())
    top = tuple(sorted(c for c, r in qualified.items() if r.in_favour.owners == best))
    names = tuple(sorted(qualified))
    if len(top) > 1:
        return Selection(winner=None, reason="tie", qualified=names, tied=top)
    return Selection(winner=top[0], reason="winner", qualified=names)
