"""A community's points ledger folded from its stream: balances, 先锋指数, rules, the shop's stock (pure).

:func:`evolve` returns a new :class:`Ledger` for each event (the one given is left as it was); :func:`fold` folds
a whole stream applying events in place on a ledger of its own (O(n), no copy per event). Events are facts:
``evolve`` re-checks nothing, :mod:`domain.points_decide` did. The invariants the decider keeps (and the auditor
re-checks with :func:`domain.points_audit.ledger_problem`): no balance, 先锋指数 or stock below zero; every award worth
what its rule says; no rule that refers to a ballot's content.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.points_events import (
    PARTY_KINDS,
    Item,
    ItemListed,
    ItemWithdrawn,
    LeaderboardNameHidden,
    LeaderboardOptedIn,
    LeaderboardOptedOut,
    LedgerOpened,
    PersonKindChanged,
    PersonRegistered,
    PointsAwarded,
    PointsDeducted,
    PointsEvent,
    Redeemed,
    RedemptionCancelled,
    RedemptionHandedOver,
    Rule,
    RuleRetired,
    RuleSet,
    StockAdded,
    VoteParticipationSet,
)


@dataclass(slots=True)
class Account:
    """One person's account: the redeemable balance (``points``), the 先锋指数, and what made them."""

    kind: str
    unit: str | None = None
    owner_id: str | None = None
    points: int = 0
    pioneer: int = 0
    earned: int = 0
    deducted: int = 0
    spent: int = 0
    opted_in: bool = False
    registered_at: datetime | None = None
    hidden_names: frozenset[str] = frozenset()
    """The sha256 of each leaderboard name the committee hid (LeaderboardNameHidden)."""

    @property
    def party_member(self) -> bool:
        return self.kind in PARTY_KINDS


@dataclass(slots=True)
class RuleState:
    rule: Rule
    version: int
    retired: bool = False


@dataclass(slots=True)
class Award:
    person_id: str
    points: int
    pioneer: int
    reversed: bool = False


@dataclass(slots=True)
class HoursCredit:
    """What a person has been credited for one source's hours (the rule version of the first credit rules)."""

    rule_id: str
    version: int
    minutes: int = 0
    points: int = 0
    pioneer: int = 0


@dataclass(slots=True)
class Stock:
    item: Item
    stock: int
    withdrawn: bool = False


@dataclass(slots=True)
class Redemption:
    person_id: str
    item_id: str
    cost: int
    code_sha256: str
    at: datetime
    status: str = "reserved"  # reserved → handed_over | cancelled


@dataclass
class Ledger:
    community: str | None = None
    vote_participation: bool = False
    rules: dict[str, RuleState] = field(default_factory=dict)
    people: dict[str, Account] = field(default_factory=dict)
    awards: dict[str, Award] = field(default_factory=dict)
    deductions: set[str] = field(default_factory=set)
    occasions: set[tuple[str, str, str]] = field(default_factory=set)
    """(rule, person, source) of per-occasion awards with a source: one award each."""
    hours: dict[tuple[str, str], HoursCredit] = field(default_factory=dict)
    """(person, source key) -> the hours credited for it."""
    items: dict[str, Stock] = field(default_factory=dict)
    redemptions: dict[str, Redemption] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    events: int = 0

    def copy(self) -> Ledger:
        """An independent copy (what ``evolve`` and the services' working folds start from)."""
        return Ledger(
            community=self.community, vote_participation=self.vote_participation,
            rules={k: replace(v) for k, v in self.rules.items()},
            people={k: replace(v) for k, v in self.people.items()},
            awards={k: replace(v) for k, v in self.awards.items()}, deductions=set(self.deductions),
            occasions=set(self.occasions), hours={k: replace(v) for k, v in self.hours.items()},
            items={k: replace(v) for k, v in self.items.items()},
            redemptions={k: replace(v) for k, v in self.redemptions.items()}, codes=dict(self.codes),
            events=self.events)

    def active_rule(self, basis: str) -> RuleState | None:
        """The one active rule of ``basis`` (volunteer hours and vote participation have at most one)."""
        return next((r for r in self.rules.values() if r.rule.basis == basis and not r.retired), None)

    def apply(self, event: PointsEvent) -> None:
        """Fold in one event, in place (see :func:`evolve` for the pure form)."""
        self.events += 1
        match event:
            case LedgerOpened():
                self.community = event.community
            case VoteParticipationSet():
                self.vote_participation = event.enabled
            case RuleSet():
                self.rules[event.rule.rule_id] = RuleState(event.rule, event.version)
            case RuleRetired():
                self.rules[event.rule_id].retired = True
            case PersonRegistered():
                self.people[event.person_id] = Account(event.kind, event.unit, event.owner_id,
                                                       registered_at=event.at)
            case PersonKindChanged():
                account = self.people[event.person_id]
                account.kind, account.unit = event.kind, event.unit
            case PointsAwarded():
                self._awarded(event)
            case PointsDeducted():
                self._deducted(event)
            case _:
                self._shop(event)

    def _awarded(self, event: PointsAwarded) -> None:
        account = self.people[event.person_id]
        account.points += event.points
        account.earned += event.points
        account.pioneer += event.pioneer
        self.awards[event.award_id] = Award(event.person_id, event.points, event.pioneer)
        rule = self.rules[event.rule_id].rule
        if event.source is None:
            return
        if rule.per == "hour":
            key = (event.person_id, event.source.key())
            credit = self.hours.setdefault(key, HoursCredit(event.rule_id, event.rule_version))
            credit.minutes += event.quantity
            credit.points += event.points
            credit.pioneer += event.pioneer
        else:
            self.occasions.add((event.rule_id, event.person_id, event.source.key()))

    def _deducted(self, event: PointsDeducted) -> None:
        account = self.people[event.person_id]
        account.points -= event.points
        account.deducted += event.points
        account.pioneer -= event.pioneer
        self.deductions.add(event.deduction_id)
        if event.reverses is not None:
            self.awards[event.reverses].reversed = True
        if event.source is not None and (credit := self.hours.get((event.person_id, event.source.key()))):
            credit.minutes -= event.quantity
            credit.points -= event.points
            credit.pioneer -= event.pioneer

    def _shop(self, event: PointsEvent) -> None:
        match event:
            case ItemListed():
                self.items[event.item.item_id] = Stock(event.item, event.stock)
            case StockAdded():
                self.items[event.item_id].stock += event.quantity
            case ItemWithdrawn():
                self.items[event.item_id].withdrawn = True
            case Redeemed():
                self.items[event.item_id].stock -= 1
                account = self.people[event.person_id]
                account.points -= event.cost
                account.spent += event.cost
                self.redemptions[event.redemption_id] = Redemption(event.person_id, event.item_id, event.cost,
                                                                   event.code_sha256, event.at)
                self.codes[event.code_sha256] = event.redemption_id
            case RedemptionHandedOver():
                self.redemptions[event.redemption_id].status = "handed_over"
            case RedemptionCancelled():
                redemption = self.redemptions[event.redemption_id]
                redemption.status = "cancelled"
                self.items[redemption.item_id].stock += 1
                account = self.people[redemption.person_id]
                account.points += redemption.cost
                account.spent -= redemption.cost
            case LeaderboardOptedIn():
                self.people[event.person_id].opted_in = True
            case LeaderboardOptedOut():
                self.people[event.person_id].opted_in = False
            case LeaderboardNameHidden():
                account = self.people[event.person_id]
                account.hidden_names = account.hidden_names | {event.name_sha256}
            case _:
                raise TypeError(f"not a points event: {event!r}")


def evolve(state: Ledger, event: PointsEvent) -> Ledger:
    """The ledger after ``event``; ``state`` is left unchanged."""
    after = state.copy()
    after.apply(event)
    return after


def fold(events: Iterable[PointsEvent], state: Ledger | None = None) -> Ledger:
    """The ledger after ``events`` (from an empty one unless ``state`` is given, which is not changed)."""
    ledger = state.copy() if state is not None else Ledger()
    for event in events:
        ledger.apply(event)
    return ledger


def negative(state: Ledger) -> str | None:
    """The first balance, 先锋指数 or stock below zero, described (None: there is none)."""
    for person_id, account in state.people.items():
        if account.points < 0 or account.pioneer < 0:
            return f"person {person_id}: balance {account.points}, 先锋指数 {account.pioneer}"
    for item_id, stock in state.items.items():
        if stock.stock < 0:
            return f"item {item_id}: stock {stock.stock}"
    return None
