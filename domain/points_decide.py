"""Commands on a community's points ledger and the decider: ``decide(ledger, command) -> events`` (pure).

Each command checks the ledger as folded up to the stream's head (the services decide under the stream's lock, so
two redemptions of the last item, or of the last points, are decided one after the other) and returns the events to
append, or raises a :class:`PointsError` saying what to do. Time, ids and the operator are passed in.
"""

from __future__ import annotations

from domain.errors import N_, Bilingual
from domain.points import Ledger
from domain.points_commands import (
    Award,
    CancelRedemption,
    ChangePersonKind,
    CreditHours,
    Deduct,
    HandOver,
    HideName,
    ListItem,
    OpenLedger,
    PointsCommand,
    Redeem,
    RegisterPerson,
    Restock,
    RetireRule,
    SetOptIn,
    SetRule,
    SetVoteParticipation,
    WithdrawItem,
)
from domain.points_events import (
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
    RuleRetired,
    RuleSet,
    StockAdded,
    VoteParticipationSet,
)
from domain.points_rules import PointsError, RuleError, check_facts, check_rule, hours_points, occasion_points

__all__ = ["InsufficientPointsError", "OutOfStockError", "PointsError", "RuleError", "decide", "Award",
           "CancelRedemption", "ChangePersonKind", "CreditHours", "Deduct", "HandOver", "HideName", "ListItem",
           "OpenLedger", "PointsCommand", "Redeem", "RegisterPerson", "Restock", "RetireRule", "SetOptIn",
           "SetRule", "SetVoteParticipation", "WithdrawItem"]
# (the commands are re-exported: callers import them with the decider; every refusal is a PointsError)


class InsufficientPointsError(PointsError):
    pass


class OutOfStockError(PointsError):
    pass


def _name(item: Item) -> Bilingual:
    return Bilingual(item.name_zh, item.name_en or item.name_zh)


def _person(state: Ledger, person_id: str) -> None:
    if person_id not in state.people:
        raise PointsError(N_("no person %(person_id)s in the ledger; register them first"), person_id=person_id)


def _item(state: Ledger, item_id: str) -> None:
    if item_id not in state.items:
        raise PointsError(N_("the shop has no item %(item_id)s"), item_id=item_id)


def _live_rule(state: Ledger, rule_id: str) -> None:
    found = state.rules.get(rule_id)
    if found is None or found.retired:
        raise PointsError(N_("no rule '%(rule_id)s' in force; set it first"), rule_id=rule_id)


def decide(state: Ledger, command: PointsCommand) -> list[PointsEvent]:
    """The events ``command`` makes on ``state`` (none: nothing to change), or a :class:`PointsError`."""
    if isinstance(command, OpenLedger):
        return [] if state.community is not None else [LedgerOpened(at=command.at, by=command.by,
                                                                    community=command.community)]
    if state.community is None:
        raise PointsError(N_("the points ledger is not open yet"))
    decider = _DECIDERS.get(type(command))
    if decider is None:
        raise TypeError(f"not a points command: {command!r}")
    return decider(state, command)


def _set_rule(state: Ledger, c: SetRule) -> list[PointsEvent]:
    check_rule(c.rule)
    current = state.rules.get(c.rule.rule_id)
    if c.rule.basis == "vote_participation" and not state.vote_participation:
        raise PointsError(N_("points for taking part in a vote are off (the default); the community must turn them on "
                             "first, and they count taking part only"))
    if c.rule.basis in ("volunteer_hours", "vote_participation"):
        other = state.active_rule(c.rule.basis)
        if other is not None and other.rule.rule_id != c.rule.rule_id:
            raise PointsError(N_("rule '%(rule_id)s' already counts this; change it or retire it first"),
                              rule_id=other.rule.rule_id)
    if current is not None and current.rule == c.rule and not current.retired:
        return []
    version = current.version + 1 if current is not None else 1
    return [RuleSet(at=c.at, by=c.by, rule=c.rule, version=version)]


def _retire_rule(state: Ledger, c: RetireRule) -> list[PointsEvent]:
    _live_rule(state, c.rule_id)
    return [RuleRetired(at=c.at, by=c.by, rule_id=c.rule_id, reason=c.reason)]


def _vote_participation(state: Ledger, c: SetVoteParticipation) -> list[PointsEvent]:
    if c.enabled == state.vote_participation:
        return []
    if not c.enabled and (rule := state.active_rule("vote_participation")) is not None:
        return [VoteParticipationSet(at=c.at, by=c.by, enabled=False),
                RuleRetired(at=c.at, by=c.by, rule_id=rule.rule.rule_id, reason="vote participation turned off")]
    return [VoteParticipationSet(at=c.at, by=c.by, enabled=c.enabled)]


def _unit_needed() -> PointsError:
    return PointsError(N_("a party member reporting from an outside unit needs the unit's name"))


def _register(state: Ledger, c: RegisterPerson) -> list[PointsEvent]:
    if c.person_id in state.people:
        return []
    if c.person_kind == "dual_report" and not c.unit:
        raise _unit_needed()
    return [PersonRegistered(at=c.at, by=c.by, person_id=c.person_id, kind=c.person_kind, unit=c.unit,
                             owner_id=c.owner_id)]


def _change_kind(state: Ledger, c: ChangePersonKind) -> list[PointsEvent]:
    _person(state, c.person_id)
    if c.person_kind == "dual_report" and not c.unit:
        raise _unit_needed()
    return [PersonKindChanged(at=c.at, by=c.by, person_id=c.person_id, kind=c.person_kind, unit=c.unit)]


def _award(state: Ledger, c: Award) -> list[PointsEvent]:
    _person(state, c.person_id)
    _live_rule(state, c.rule_id)
    held = state.rules[c.rule_id]
    rule = held.rule
    check_facts(rule, c.facts)
    if rule.per == "hour":
        raise PointsError(N_("volunteer hours are credited from check-in and check-out"))
    if rule.basis == "vote_participation":
        if not state.vote_participation:
            raise PointsError(N_("points for taking part in a vote are off"))
        if c.source is None or c.source.kind != "deliberation" or c.quantity != 1:
            raise PointsError(N_("points for taking part in a vote name the deliberation, once"))
    if c.award_id in state.awards:
        raise PointsError(N_("award %(award_id)s exists already"), award_id=c.award_id)
    if c.source is not None and (c.rule_id, c.person_id, c.source.key()) in state.occasions:
        raise PointsError(N_("%(person_id)s was awarded '%(rule_id)s' for %(source)s already"),
                          person_id=c.person_id, rule_id=c.rule_id, source=c.source.key())
    points, pioneer = occasion_points(rule, c.quantity, state.people[c.person_id].party_member)
    return [PointsAwarded(at=c.at, by=c.by, award_id=c.award_id, person_id=c.person_id, rule_id=c.rule_id,
                          rule_version=held.version, quantity=c.quantity, points=points, pioneer=pioneer,
                          reason=c.reason, source=c.source, facts=c.facts)]


def _credit_hours(state: Ledger, c: CreditHours) -> list[PointsEvent]:
    _person(state, c.person_id)
    if c.entry_id in state.awards or c.entry_id in state.deductions:
        raise PointsError(N_("entry %(entry_id)s exists already"), entry_id=c.entry_id)
    credit = state.hours.get((c.person_id, c.source.key()))
    if credit is None:
        found = state.active_rule("volunteer_hours")
        if found is None or c.total_minutes == 0:
            return []  # no rule for hours: the hours are recorded, no points
        rule_id, version, rule = found.rule.rule_id, found.version, found.rule
        before = (0, 0, 0)
    else:
        rule_id, version, rule = credit.rule_id, credit.version, state.rules[credit.rule_id].rule
        before = (credit.minutes, credit.points, credit.pioneer)
    party = state.people[c.person_id].party_member
    points, pioneer = hours_points(rule, c.total_minutes, party)
    minutes = c.total_minutes - before[0]
    if minutes > 0:
        return [PointsAwarded(at=c.at, by=c.by, award_id=c.entry_id, person_id=c.person_id, rule_id=rule_id,
                              rule_version=version, quantity=minutes, points=points - before[1],
                              pioneer=pioneer - before[2], reason=c.reason, source=c.source)]
    if minutes < 0:
        taken = before[1] - points
        _can_take(state, c.person_id, taken)
        return [PointsDeducted(at=c.at, by=c.by, deduction_id=c.entry_id, person_id=c.person_id, points=taken,
                               pioneer=before[2] - pioneer, reason=c.reason or "hours corrected", source=c.source,
                               quantity=-minutes)]
    return []


def _can_take(state: Ledger, person_id: str, points: int) -> None:
    balance = state.people[person_id].points
    if points > balance:
        raise InsufficientPointsError(N_(
            "%(person_id)s has %(balance)s points left, %(points)s cannot be taken back (a balance is never "
            "negative); check what they redeemed with them first"), person_id=person_id, balance=balance,
            points=points)


def _deduct(state: Ledger, c: Deduct) -> list[PointsEvent]:
    _person(state, c.person_id)
    if c.deduction_id in state.deductions:
        raise PointsError(N_("deduction %(deduction_id)s exists already"), deduction_id=c.deduction_id)
    points, pioneer = c.points, 0
    if c.reverses is not None:
        award = state.awards.get(c.reverses)
        if award is None or award.person_id != c.person_id or award.reversed:
            raise PointsError(N_("%(person_id)s has no award %(award_id)s to reverse"), person_id=c.person_id,
                              award_id=c.reverses)
        points, pioneer = award.points, min(award.pioneer, state.people[c.person_id].pioneer)
    if points == 0 and pioneer == 0:
        raise PointsError(N_("state the points, or the award to reverse"))
    _can_take(state, c.person_id, points)
    return [PointsDeducted(at=c.at, by=c.by, deduction_id=c.deduction_id, person_id=c.person_id, points=points,
                           pioneer=pioneer, reason=c.reason, reverses=c.reverses)]


def _list_item(state: Ledger, c: ListItem) -> list[PointsEvent]:
    if c.item.item_id in state.items:
        raise PointsError(N_("item %(item_id)s is listed already; restock it instead"), item_id=c.item.item_id)
    return [ItemListed(at=c.at, by=c.by, item=c.item, stock=c.stock)]


def _restock(state: Ledger, c: Restock) -> list[PointsEvent]:
    _item(state, c.item_id)
    return [StockAdded(at=c.at, by=c.by, item_id=c.item_id, quantity=c.quantity)]


def _withdraw(state: Ledger, c: WithdrawItem) -> list[PointsEvent]:
    _item(state, c.item_id)
    return [] if state.items[c.item_id].withdrawn else [ItemWithdrawn(at=c.at, by=c.by, item_id=c.item_id,
                                                                      reason=c.reason)]


def _redeem(state: Ledger, c: Redeem) -> list[PointsEvent]:
    _person(state, c.person_id)
    _item(state, c.item_id)
    stock = state.items[c.item_id]
    if stock.withdrawn or stock.stock < 1:
        raise OutOfStockError(N_("'%(item)s' is out of stock; choose another item or wait for a restock"),
                              item=_name(stock.item))
    balance = state.people[c.person_id].points
    if balance < stock.item.cost:
        raise InsufficientPointsError(N_("not enough points: '%(item)s' costs %(cost)s, the balance is %(balance)s"),
                                      item=_name(stock.item), cost=stock.item.cost, balance=balance)
    if c.redemption_id in state.redemptions or c.code_sha256 in state.codes:
        raise PointsError(N_("redemption %(redemption_id)s exists already"), redemption_id=c.redemption_id)
    return [Redeemed(at=c.at, by=c.by, redemption_id=c.redemption_id, person_id=c.person_id, item_id=c.item_id,
                     cost=stock.item.cost, code_sha256=c.code_sha256)]


def _reserved(state: Ledger, redemption_id: str) -> None:
    found = state.redemptions.get(redemption_id)
    if found is None:
        raise PointsError(N_("no such redemption code"))
    if found.status == "handed_over":
        raise PointsError(N_("this redemption was handed over already: do not hand it over again"))
    if found.status != "reserved":
        raise PointsError(N_("this redemption was cancelled: its points went back to the balance"))


def _hand_over(state: Ledger, c: HandOver) -> list[PointsEvent]:
    _reserved(state, c.redemption_id)
    return [RedemptionHandedOver(at=c.at, by=c.by, redemption_id=c.redemption_id)]


def _cancel(state: Ledger, c: CancelRedemption) -> list[PointsEvent]:
    _reserved(state, c.redemption_id)
    return [RedemptionCancelled(at=c.at, by=c.by, redemption_id=c.redemption_id, reason=c.reason)]


def _hide_name(state: Ledger, c: HideName) -> list[PointsEvent]:
    _person(state, c.person_id)
    if not c.reason.strip():
        raise PointsError(N_("write why the name is hidden (it is recorded for the auditors)"))
    if c.name_sha256 in state.people[c.person_id].hidden_names:
        return []
    return [LeaderboardNameHidden(at=c.at, by=c.by, person_id=c.person_id, name_sha256=c.name_sha256,
                                  reason=c.reason.strip())]


def _opt_in(state: Ledger, c: SetOptIn) -> list[PointsEvent]:
    _person(state, c.person_id)
    if state.people[c.person_id].opted_in == c.opted_in:
        return []
    event = LeaderboardOptedIn if c.opted_in else LeaderboardOptedOut
    return [event(at=c.at, by=c.by, person_id=c.person_id)]


_DECIDERS = {SetVoteParticipation: _vote_participation, SetRule: _set_rule, RetireRule: _retire_rule,
             RegisterPerson: _register, ChangePersonKind: _change_kind, Award: _award, CreditHours: _credit_hours,
             Deduct: _deduct, ListItem: _list_item, Restock: _restock, WithdrawItem: _withdraw, Redeem: _redeem,
             HandOver: _hand_over, CancelRedemption: _cancel, SetOptIn: _opt_in, HideName: _hide_name}
