"""Commands on a community's points ledger and the decider: ``decide(ledger, command) -> events`` (pure).

Each command checks the ledger as folded up to the stream's head (the services decide under the stream's lock, so
two redemptions of the last item, or of the last points, are decided one after the other) and returns the events to
append, or raises a :class:`PointsError` saying what to do. Time, ids and the operator are passed in.
"""

from __future__ import annotations

from domain.points import Ledger
from domain.points_commands import (
    Award,
    CancelRedemption,
    ChangePersonKind,
    CreditHours,
    Deduct,
    HandOver,
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
    ItemListed,
    ItemWithdrawn,
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
           "CancelRedemption", "ChangePersonKind", "CreditHours", "Deduct", "HandOver", "ListItem",
           "OpenLedger", "PointsCommand", "Redeem", "RegisterPerson", "Restock", "RetireRule", "SetOptIn",
           "SetRule", "SetVoteParticipation", "WithdrawItem"]
# (the commands are re-exported: callers import them with the decider; every refusal is a PointsError)


class InsufficientPointsError(PointsError):
    pass


class OutOfStockError(PointsError):
    pass


def _person(state: Ledger, person_id: str) -> None:
    if person_id not in state.people:
        raise PointsError(f"积分账户中没有 {person_id}；请先登记此人",
                          f"no person {person_id} in the ledger; register them first")


def _item(state: Ledger, item_id: str) -> None:
    if item_id not in state.items:
        raise PointsError(f"兑换超市没有商品 {item_id}", f"the shop has no item {item_id}")


def _live_rule(state: Ledger, rule_id: str) -> None:
    found = state.rules.get(rule_id)
    if found is None or found.retired:
        raise PointsError(f"没有有效的积分规则“{rule_id}”；请先在规则中设定",
                          f"no rule '{rule_id}' in force; set it first")


def decide(state: Ledger, command: PointsCommand) -> list[PointsEvent]:
    """The events ``command`` makes on ``state`` (none: nothing to change), or a :class:`PointsError`."""
    if isinstance(command, OpenLedger):
        return [] if state.community is not None else [LedgerOpened(at=command.at, by=command.by,
                                                                    community=command.community)]
    if state.community is None:
        raise PointsError("积分账本尚未建立", "the points ledger is not open yet")
    decider = _DECIDERS.get(type(command))
    if decider is None:
        raise TypeError(f"not a points command: {command!r}")
    return decider(state, command)


def _set_rule(state: Ledger, c: SetRule) -> list[PointsEvent]:
    check_rule(c.rule)
    current = state.rules.get(c.rule.rule_id)
    if c.rule.basis == "vote_participation" and not state.vote_participation:
        raise PointsError("参与投票计分未开启（默认关闭）；需社区先开启，且只计“参与”",
                          "points for taking part in a vote are off (the default); the community must turn them on "
                          "first, and they count taking part only")
    if c.rule.basis in ("volunteer_hours", "vote_participation"):
        other = state.active_rule(c.rule.basis)
        if other is not None and other.rule.rule_id != c.rule.rule_id:
            raise PointsError(f"已有同类规则“{other.rule.rule_id}”在用；请修改它或先停用",
                              f"rule '{other.rule.rule_id}' already counts this; change it or retire it first")
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
    return PointsError("双报到党员须填写所在单位",
                       "a party member reporting from an outside unit needs the unit's name")


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
        raise PointsError("志愿时长积分随签退自动记入", "volunteer hours are credited from check-in and check-out")
    if rule.basis == "vote_participation":
        if not state.vote_participation:
            raise PointsError("参与投票计分未开启", "points for taking part in a vote are off")
        if c.source is None or c.source.kind != "deliberation" or c.quantity != 1:
            raise PointsError("参与投票积分须注明所参与的议事，且只计一次",
                              "points for taking part in a vote name the deliberation, once")
    if c.award_id in state.awards:
        raise PointsError(f"积分记录 {c.award_id} 已存在", f"award {c.award_id} exists already")
    if c.source is not None and (c.rule_id, c.person_id, c.source.key()) in state.occasions:
        raise PointsError(f"{c.person_id} 已因 {c.source.key()} 按“{c.rule_id}”记过分", f"{c.person_id} was awarded "
                          f"'{c.rule_id}' for {c.source.key()} already")
    points, pioneer = occasion_points(rule, c.quantity, state.people[c.person_id].party_member)
    return [PointsAwarded(at=c.at, by=c.by, award_id=c.award_id, person_id=c.person_id, rule_id=c.rule_id,
                          rule_version=held.version, quantity=c.quantity, points=points, pioneer=pioneer,
                          reason=c.reason, source=c.source, facts=c.facts)]


def _credit_hours(state: Ledger, c: CreditHours) -> list[PointsEvent]:
    _person(state, c.person_id)
    if c.entry_id in state.awards or c.entry_id in state.deductions:
        raise PointsError(f"积分记录 {c.entry_id} 已存在", f"entry {c.entry_id} exists already")
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
        raise InsufficientPointsError(
            f"{person_id} 只剩 {balance} 分，不能扣减 {points} 分（积分不能为负）；请先与本人核对已兑换的物品",
            f"{person_id} has {balance} points left, {points} cannot be taken back (a balance is never negative); "
            "check what they redeemed with them first")


def _deduct(state: Ledger, c: Deduct) -> list[PointsEvent]:
    _person(state, c.person_id)
    if c.deduction_id in state.deductions:
        raise PointsError(f"扣减记录 {c.deduction_id} 已存在", f"deduction {c.deduction_id} exists already")
    points, pioneer = c.points, 0
    if c.reverses is not None:
        award = state.awards.get(c.reverses)
        if award is None or award.person_id != c.person_id or award.reversed:
            raise PointsError(f"{c.person_id} 没有可撤销的积分记录 {c.reverses}",
                              f"{c.person_id} has no award {c.reverses} to reverse")
        points, pioneer = award.points, min(award.pioneer, state.people[c.person_id].pioneer)
    if points == 0 and pioneer == 0:
        raise PointsError("扣减须写明分数，或指明要撤销的积分记录", "state the points, or the award to reverse")
    _can_take(state, c.person_id, points)
    return [PointsDeducted(at=c.at, by=c.by, deduction_id=c.deduction_id, person_id=c.person_id, points=points,
                           pioneer=pioneer, reason=c.reason, reverses=c.reverses)]


def _list_item(state: Ledger, c: ListItem) -> list[PointsEvent]:
    if c.item.item_id in state.items:
        raise PointsError(f"商品 {c.item.item_id} 已上架；补货请用补货", f"item {c.item.item_id} is listed; restock it")
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
        raise OutOfStockError(f"“{stock.item.name_zh}”已兑完；请选择其他商品或等补货",
                              f"'{stock.item.name_en or stock.item.name_zh}' is out of stock; choose another item or "
                              "wait for a restock")
    balance = state.people[c.person_id].points
    if balance < stock.item.cost:
        raise InsufficientPointsError(f"积分不足：兑换“{stock.item.name_zh}”需 {stock.item.cost} 分，现有 {balance} 分",
                                      f"not enough points: '{stock.item.name_en or stock.item.name_zh}' costs "
                                      f"{stock.item.cost}, the balance is {balance}")
    if c.redemption_id in state.redemptions or c.code_sha256 in state.codes:
        raise PointsError(f"兑换记录 {c.redemption_id} 已存在", f"redemption {c.redemption_id} exists already")
    return [Redeemed(at=c.at, by=c.by, redemption_id=c.redemption_id, person_id=c.person_id, item_id=c.item_id,
                     cost=stock.item.cost, code_sha256=c.code_sha256)]


def _reserved(state: Ledger, redemption_id: str) -> None:
    found = state.redemptions.get(redemption_id)
    if found is None:
        raise PointsError("没有这张兑换码", "no such redemption code")
    if found.status != "reserved":
        done = {"handed_over": ("已领取", "was handed over already"), "cancelled": ("已取消", "was cancelled")}
        zh, en = done[found.status]
        raise PointsError(f"该兑换码{zh}", f"this redemption {en}")


def _hand_over(state: Ledger, c: HandOver) -> list[PointsEvent]:
    _reserved(state, c.redemption_id)
    return [RedemptionHandedOver(at=c.at, by=c.by, redemption_id=c.redemption_id)]


def _cancel(state: Ledger, c: CancelRedemption) -> list[PointsEvent]:
    _reserved(state, c.redemption_id)
    return [RedemptionCancelled(at=c.at, by=c.by, redemption_id=c.redemption_id, reason=c.reason)]


def _opt_in(state: Ledger, c: SetOptIn) -> list[PointsEvent]:
    _person(state, c.person_id)
    if state.people[c.person_id].opted_in == c.opted_in:
        return []
    event = LeaderboardOptedIn if c.opted_in else LeaderboardOptedOut
    return [event(at=c.at, by=c.by, person_id=c.person_id)]


_DECIDERS = {SetVoteParticipation: _vote_participation, SetRule: _set_rule, RetireRule: _retire_rule,
             RegisterPerson: _register, ChangePersonKind: _change_kind, Award: _award, CreditHours: _credit_hours,
             Deduct: _deduct, ListItem: _list_item, Restock: _restock, WithdrawItem: _withdraw, Redeem: _redeem,
             HandOver: _hand_over, CancelRedemption: _cancel, SetOptIn: _opt_in}
