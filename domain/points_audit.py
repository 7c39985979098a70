"""The auditor's replay of a points ledger (pure): every event checked against the ledger folded before it.

What the decider kept when the events were written must still hold when they are read back, whoever wrote them:
each rule is free of ballot content; each award is worth exactly what its rule (at the version it names) gives
for its quantity, once per source, to a registered person, with 先锋指数 only for party members; points for taking
part in a vote only while that is turned on, naming the deliberation and nothing else; hours' points equal
``floor(minutes × rate / 60)`` of the source's total; a redemption costs the item's price, takes one item in
stock and points the person had; a hand-over or cancellation follows a redemption still waiting. A forger who
alters a point and re-hashes the chain still fails here. tools/verify_export.py re-implements the same checks.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.points import Ledger
from domain.points_events import (
    ItemListed,
    PointsAwarded,
    PointsDeducted,
    PointsEvent,
    Redeemed,
    RedemptionCancelled,
    RedemptionHandedOver,
    RuleRetired,
    RuleSet,
    StockAdded,
)
from domain.points_rules import RuleError, check_facts, check_rule, hours_points, occasion_points


def ledger_problem(events: Iterable[PointsEvent]) -> tuple[int, str] | None:
    """``(index, what)`` of the first event that breaks the ledger's rules, or None; the index counts from 0
    over ``events``."""
    ledger = Ledger()
    versions: dict[tuple[str, int], RuleSet] = {}
    for index, event in enumerate(events):
        problem = _problem(ledger, versions, event)
        if problem is not None:
            return index, problem
        if isinstance(event, RuleSet):
            versions[(event.rule.rule_id, event.version)] = event
        ledger.apply(event)
        for person_id, account in ledger.people.items():
            if account.points < 0 or account.pioneer < 0:
                return index, f"{person_id}'s balance goes below zero ({account.points}, 先锋指数 {account.pioneer})"
    return None


def _problem(ledger: Ledger, versions: dict[tuple[str, int], RuleSet], event: PointsEvent) -> str | None:
    if ledger.community is None and event.type != "LedgerOpened":
        return f"{event.type} before LedgerOpened"
    match event:
        case RuleSet():
            return _rule_problem(ledger, event)
        case RuleRetired() if event.rule_id not in ledger.rules:
            return f"retires rule {event.rule_id}, never set"
        case PointsAwarded():
            return _award_problem(ledger, versions, event)
        case PointsDeducted():
            return _deduction_problem(ledger, versions, event)
        case ItemListed() if event.item.item_id in ledger.items:
            return f"lists item {event.item.item_id} a second time"
        case StockAdded() if event.item_id not in ledger.items:
            return f"restocks item {event.item_id}, never listed"
        case Redeemed():
            return _redemption_problem(ledger, event)
        case RedemptionHandedOver() | RedemptionCancelled():
            found = ledger.redemptions.get(event.redemption_id)
            if found is None or found.status != "reserved":
                return f"{event.type} of redemption {event.redemption_id}, which is not waiting to be handed over"
    person = getattr(event, "person_id", None)
    if person is not None and event.type != "PersonRegistered" and person not in ledger.people:
        return f"{event.type} names person {person}, never registered"
    return None


def _rule_problem(ledger: Ledger, event: RuleSet) -> str | None:
    try:
        check_rule(event.rule)
    except RuleError as exc:
        return f"rule {event.rule.rule_id}: {exc}"
    if event.rule.basis == "vote_participation" and not ledger.vote_participation:
        return f"rule {event.rule.rule_id} counts vote participation while it is turned off"
    current = ledger.rules.get(event.rule.rule_id)
    expected = current.version + 1 if current is not None else 1
    if event.version != expected:
        return f"rule {event.rule.rule_id} version {event.version}, expected {expected}"
    return None


def _award_problem(ledger: Ledger, versions: dict[tuple[str, int], RuleSet], event: PointsAwarded) -> str | None:
    account = ledger.people.get(event.person_id)
    held = versions.get((event.rule_id, event.rule_version))
    if account is None:
        return f"award {event.award_id} to {event.person_id}, never registered"
    if held is None:
        return f"award {event.award_id} under rule {event.rule_id} version {event.rule_version}, never set"
    rule = held.rule
    if event.award_id in ledger.awards or event.award_id in ledger.deductions:
        return f"award {event.award_id} a second time"
    try:
        check_facts(rule, event.facts)
    except RuleError as exc:
        return f"award {event.award_id}: {exc}"
    if rule.per == "hour":
        return _hours_problem(ledger, event.person_id, event.source, rule, event.quantity, event.points,
                              event.pioneer, f"award {event.award_id}")
    current = ledger.rules[event.rule_id]
    if current.retired or current.version != event.rule_version:
        return f"award {event.award_id} under rule {event.rule_id} version {event.rule_version}, not the one in force"
    if rule.basis == "vote_participation" and (not ledger.vote_participation or event.source is None
                                               or event.source.kind != "deliberation" or event.quantity != 1):
        return f"award {event.award_id} for vote participation while it is off, or without its deliberation"
    if event.source is not None and (event.rule_id, event.person_id, event.source.key()) in ledger.occasions:
        return f"award {event.award_id}: {event.person_id} was awarded for {event.source.key()} already"
    expected = occasion_points(rule, event.quantity, account.party_member)
    if (event.points, event.pioneer) != expected:
        return (f"award {event.award_id} gives {event.points} points and 先锋指数 {event.pioneer}; rule {rule.rule_id} "
                f"gives {expected[0]} and {expected[1]} for {event.quantity}")
    return None


def _hours_problem(ledger: Ledger, person_id: str, source: object, rule: object, minutes: int, points: int,
                   pioneer: int, what: str) -> str | None:
    key = getattr(source, "key", None)
    if key is None:
        return f"{what} for hours without the activity it is for"
    credit = ledger.hours.get((person_id, key()))
    before = (credit.minutes, credit.points, credit.pioneer) if credit is not None else (0, 0, 0)
    total = before[0] + minutes
    expected = hours_points(rule, total, ledger.people[person_id].party_member)  # type: ignore[arg-type]
    if total < 0 or (before[1] + points, before[2] + pioneer) != expected:
        return (f"{what}: {total} minutes of {key()} are worth {expected[0]} points and 先锋指数 {expected[1]}, "
                f"the ledger would hold {before[1] + points} and {before[2] + pioneer}")
    return None


def _deduction_problem(ledger: Ledger, versions: dict[tuple[str, int], RuleSet],
                       event: PointsDeducted) -> str | None:
    if event.person_id not in ledger.people:
        return f"deduction {event.deduction_id} from {event.person_id}, never registered"
    if event.deduction_id in ledger.deductions or event.deduction_id in ledger.awards:
        return f"deduction {event.deduction_id} a second time"
    if event.reverses is not None:
        award = ledger.awards.get(event.reverses)
        if award is None or award.person_id != event.person_id or award.reversed or award.points != event.points:
            return f"deduction {event.deduction_id} reverses award {event.reverses}, which it does not match"
    if event.source is not None and event.quantity:
        credit = ledger.hours.get((event.person_id, event.source.key()))
        if credit is None:
            return f"deduction {event.deduction_id} of hours never credited"
        rule = versions[(credit.rule_id, credit.version)].rule
        return _hours_problem(ledger, event.person_id, event.source, rule, -event.quantity, -event.points,
                              -event.pioneer, f"deduction {event.deduction_id}")
    return None


def _redemption_problem(ledger: Ledger, event: Redeemed) -> str | None:
    stock = ledger.items.get(event.item_id)
    account = ledger.people.get(event.person_id)
    if stock is None or account is None:
        return f"redemption {event.redemption_id} of an unlisted item or by an unregistered person"
    if stock.withdrawn or stock.stock < 1:
        return f"redemption {event.redemption_id} of {event.item_id} with none in stock"
    if event.cost != stock.item.cost:
        return f"redemption {event.redemption_id} costs {event.cost}, the item costs {stock.item.cost}"
    if event.redemption_id in ledger.redemptions or event.code_sha256 in ledger.codes:
        return f"redemption {event.redemption_id} a second time"
    return None
