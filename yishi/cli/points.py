"""``yishi points …``: a community's points ledger (文明积分, 先锋指数) and exchange shop from a shell.

Every step that acts records the operator's name and role (``--name``, default the login name; ``--role``). Uses
YISHI_DATABASE_URL (``yishi up`` sets it). Exit 2 with the reason (zh / en) on bad input or a refused step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from domain.errors import Lang
from yishi.cli.deliberation import _fail
from yishi.cli.ledger_common import base_url, keyed, now, operator, pairs, run, who

community_option = click.option("--community", required=True, help="The community (社区) whose ledger it is.")


@click.group("points")
def points() -> None:
    """Points (积分): rules, people, awards, the exchange shop, statements, the leaderboard."""


@points.command("rule")
@community_option
@click.option("--id", "rule_id", required=True)
@click.option("--name-zh", default=None)
@click.option("--name-en", default="")
@click.option("--basis", default=None, type=click.Choice(["volunteer_hours", "meeting_attended", "topic_taken_up",
                                                           "party_duty", "vote_participation", "other"]))
@click.option("--per", type=click.Choice(["occasion", "hour"]), default="occasion", show_default=True)
@click.option("--points", "amount", type=int, default=None)
@click.option("--pioneer", type=int, default=0, help="先锋指数 for party members.")
@click.option("--condition", "conditions", multiple=True, help="KEY=VALUE an award must state (repeatable).")
@click.option("--description", default="")
@click.option("--retire", is_flag=True, help="Retire the rule instead.")
@operator
def rule_cmd(community: str, rule_id: str, name_zh: str | None, name_en: str, basis: str | None, per: str,
             amount: int | None,
             pioneer: int, conditions: tuple[str, ...], description: str, retire: bool, name: str | None, role: str,
             lang: Lang) -> None:
    """Set (or retire) a rule. A rule may never refer to a ballot's content."""
    from domain.points_decide import RetireRule, SetRule
    from domain.points_events import Rule
    from yishi.services import points as service

    by = who(name, role)
    if retire:
        command: Any = RetireRule(at=now(), by=by, rule_id=rule_id, reason=description)
    elif name_zh is None or basis is None or amount is None:
        _fail("设定规则需要 --name-zh、--basis 和 --points / setting a rule needs --name-zh, --basis and --points")
    else:
        command = SetRule(at=now(), by=by, rule=Rule(
            rule_id=rule_id, name_zh=name_zh, name_en=name_en, basis=basis, per=per, points=amount,  # type: ignore
            pioneer=pioneer, conditions=pairs(conditions, "--condition"), description=description))
    stored = run(lambda store, _c: service.act(store, community, command), lang)
    click.echo(f"{rule_id}: {stored[-1].type if stored else 'unchanged 未变'}")


@points.command("vote-participation")
@community_option
@click.argument("state", type=click.Choice(["on", "off"]))
@operator
def vote_participation_cmd(community: str, state: str, name: str | None, role: str, lang: Lang) -> None:
    """Allow points for taking part in a vote (off by default; taking part only, never how anyone voted)."""
    from domain.points_decide import SetVoteParticipation
    from yishi.services import points as service

    command = SetVoteParticipation(at=now(), by=who(name, role), enabled=state == "on")
    run(lambda store, _c: service.act(store, community, command), lang)
    click.echo(f"vote participation 参与投票计分: {state}")


@points.command("person")
@community_option
@click.option("--person-name", "person_name", required=True, help="Kept out of the stream (the people table).")
@click.option("--kind", type=click.Choice(["resident", "party_member", "dual_report"]), default="resident",
              show_default=True)
@click.option("--unit", default=None, help="The outside unit of a 双报到 party member.")
@click.option("--owner-id", default=None, help="The owner id on the roll (for participation in votes).")
@click.option("--phone", default=None)
@operator
def person_cmd(community: str, person_name: str, kind: str, unit: str | None, owner_id: str | None,
               phone: str | None, name: str | None, role: str, lang: Lang) -> None:
    """Register a person; prints their id and their own link (points, hours, redemptions)."""
    from yishi.services import points as service

    settings = keyed()
    by = who(name, role)

    async def go(store: Any, _c: Any) -> tuple[str, Any]:
        pid = await service.register_person(store.pool, store, community, name=person_name, kind=kind,  # type: ignore
                                            by=by, now=now(), phone=phone, unit=unit, owner_id=owner_id)
        link = await service.person_link(store.pool, store, community, pid, by=by,
                                         secret_key=settings.secret_key.get_secret_value(), now=now())
        return pid, link

    pid, link = run(go, lang)
    click.echo(pid)
    click.echo(f"link 个人链接: {link.url(base_url())}")


@points.command("award")
@community_option
@click.argument("person_id")
@click.option("--rule", "rule_id", required=True)
@click.option("--quantity", type=int, default=1, show_default=True)
@click.option("--reason", default="")
@click.option("--source", default=None, help="KIND:REF, e.g. meeting:m-1, topic:topic-…, duty:2025-11.")
@click.option("--fact", "facts", multiple=True, help="KEY=VALUE the rule's conditions ask for.")
@operator
def award_cmd(community: str, person_id: str, rule_id: str, quantity: int, reason: str, source: str | None,
              facts: tuple[str, ...], name: str | None, role: str, lang: Lang) -> None:
    """Award points under a rule (its reason and who granted it are recorded)."""
    from domain.points_events import SourceRef
    from yishi.services import points as service

    ref = None
    if source:
        kind, _, target = source.partition(":")
        ref = SourceRef(kind=kind, ref=target)  # type: ignore[arg-type]
    stored = run(lambda store, _c: service.award(store, community, person_id=person_id, rule_id=rule_id,
                                                 by=who(name, role), now=now(), reason=reason, source=ref,
                                                 facts=pairs(facts, "--fact"), quantity=quantity), lang)
    click.echo(f"{stored[-1].payload.get('award_id')}: +{stored[-1].payload.get('points')}")


@points.command("award-vote")
@community_option
@click.argument("deliberation_id")
@operator
def award_vote_cmd(community: str, deliberation_id: str, name: str | None, role: str, lang: Lang) -> None:
    """Award the participation rule to every registered owner who took part (never by what they voted)."""
    from yishi.services import points as service

    given = run(lambda store, _c: service.award_vote_participation(store.pool, store, community, deliberation_id,
                                                                   by=who(name, role), now=now()), lang)
    click.echo(f"{given} awarded 已记分")


@points.command("deduct")
@community_option
@click.argument("person_id")
@click.option("--points", "amount", type=int, default=0)
@click.option("--reverses", default=None, help="An award id given in error.")
@click.option("--reason", required=True)
@operator
def deduct_cmd(community: str, person_id: str, amount: int, reverses: str | None, reason: str, name: str | None,
               role: str, lang: Lang) -> None:
    """Take points back (never below a zero balance)."""
    from domain.points_decide import Deduct
    from yishi.services import points as service

    command = Deduct(at=now(), by=who(name, role), deduction_id=service.new_id("dd"), person_id=person_id,
                     points=amount, reverses=reverses, reason=reason)
    stored = run(lambda store, _c: service.act(store, community, command), lang)
    click.echo(f"-{stored[-1].payload.get('points')}")


@points.command("item")
@community_option
@click.option("--id", "item_id", required=True)
@click.option("--name-zh", default=None)
@click.option("--name-en", default="")
@click.option("--cost", type=int, default=None)
@click.option("--stock", type=int, default=None, help="Listing: the stock; afterwards: how many to add.")
@click.option("--withdraw", is_flag=True)
@operator
def item_cmd(community: str, item_id: str, name_zh: str | None, name_en: str, cost: int | None, stock: int | None,
             withdraw: bool, name: str | None, role: str, lang: Lang) -> None:
    """List an item in the shop (with --name-zh and --cost), restock it (--stock), or withdraw it."""
    from domain.points_decide import ListItem, Restock, WithdrawItem
    from domain.points_events import Item
    from yishi.services import points as service

    by = who(name, role)
    if withdraw:
        command: Any = WithdrawItem(at=now(), by=by, item_id=item_id)
    elif name_zh and cost:
        command = ListItem(at=now(), by=by, item=Item(item_id=item_id, name_zh=name_zh, name_en=name_en, cost=cost),
                           stock=stock or 0)
    else:
        command = Restock(at=now(), by=by, item_id=item_id, quantity=stock or 0)
    stored = run(lambda store, _c: service.act(store, community, command), lang)
    click.echo(f"{item_id}: {stored[-1].type if stored else 'unchanged 未变'}")


@points.command("redeem")
@community_option
@click.argument("person_id")
@click.argument("item_id")
@operator
def redeem_cmd(community: str, person_id: str, item_id: str, name: str | None, role: str, lang: Lang) -> None:
    """Redeem an item for a person; prints the redemption code the clerk scans."""
    from yishi.services import points as service

    key = keyed().secret_key.get_secret_value()
    done = run(lambda store, _c: service.redeem(store, community, person_id=person_id, item_id=item_id,
                                                by=who(name, role), now=now(), secret_key=key), lang)
    click.echo(f"{done.redemption_id} -{done.cost}")
    click.echo(f"code 兑换码: {done.code}")


@points.command("hand-over")
@community_option
@click.argument("code")
@operator
def hand_over_cmd(community: str, code: str, name: str | None, role: str, lang: Lang) -> None:
    """The clerk hands the item of a redemption code over (once)."""
    from yishi.services import points as service

    done = run(lambda store, _c: service.hand_over(store, community, code, by=who(name, role), now=now()), lang)
    click.echo(f"{done['redemption_id']}: {done['item']} → {done['person_id']}")


@points.command("cancel")
@community_option
@click.argument("redemption_id")
@click.option("--reason", required=True)
@operator
def cancel_cmd(community: str, redemption_id: str, reason: str, name: str | None, role: str, lang: Lang) -> None:
    """Cancel a redemption not yet handed over: the points and the item come back."""
    from domain.points_decide import CancelRedemption
    from yishi.services import points as service

    command = CancelRedemption(at=now(), by=who(name, role), redemption_id=redemption_id, reason=reason)
    run(lambda store, _c: service.act(store, community, command), lang)
    click.echo(f"{redemption_id}: cancelled 已取消")


@points.command("opt-in")
@community_option
@click.argument("person_id")
@click.option("--off", is_flag=True, help="Opt out instead.")
@click.option("--display-name", default=None, help="The name the leaderboard shows (the person's choice).")
@operator
def opt_in_cmd(community: str, person_id: str, off: bool, display_name: str | None, name: str | None, role: str,
               lang: Lang) -> None:
    """Record a person's (written) consent to appear on the public leaderboard, or its withdrawal."""
    from domain.points_decide import SetOptIn
    from yishi.services import points as service

    async def go(store: Any, _c: Any) -> None:
        await service.act(store, community, SetOptIn(at=now(), by=who(name, role), person_id=person_id,
                                                     opted_in=not off))
        if display_name is not None or off:
            await service.set_display_name(store.pool, person_id, None if off else display_name)

    run(go, lang)
    click.echo(f"{person_id}: {'opted out 不公开' if off else 'opted in 公开'}")


@points.command("show")
@community_option
@click.argument("person_id", required=False)
@click.option("--json", "as_json", is_flag=True)
def show_cmd(community: str, person_id: str | None, as_json: bool) -> None:
    """Balances (one person's, or everyone's), the rules and the shop's stock."""
    from yishi.services import points as service

    state = run(lambda store, _c: service.ledger(store, community))
    people = {p: a for p, a in state.people.items() if person_id in (None, p)}
    doc = {"vote_participation": state.vote_participation,
           "rules": {r: {**s.rule.model_dump(mode="json"), "version": s.version, "retired": s.retired}
                     for r, s in state.rules.items()},
           "people": {p: {"kind": a.kind, "points": a.points, "pioneer": a.pioneer, "earned": a.earned,
                          "spent": a.spent, "opted_in": a.opted_in} for p, a in people.items()},
           "items": {i: {"name": s.item.name_zh, "cost": s.item.cost, "stock": s.stock, "withdrawn": s.withdrawn}
                     for i, s in state.items.items()}}
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    for p, a in doc["people"].items():
        click.echo(f"{p} {a['kind']}: {a['points']} points 积分, 先锋指数 {a['pioneer']}, earned {a['earned']}")
    for i, s in doc["items"].items():
        click.echo(f"item {i} {s['name']}: {s['cost']} points, stock {s['stock']}")


@points.command("statement")
@community_option
@click.option("--month", required=True, help="2025-11 (Beijing time).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="xlsx", show_default=True)
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def statement_cmd(community: str, month: str, fmt: str, out: Path) -> None:
    """The monthly statement: balances, earned, deducted, spent per person; the shop's movements."""
    from yishi.services.points_statement import statement_file

    data = run(lambda store, _c: statement_file(store.pool, store, community, month, fmt))
    out.write_bytes(data)
    click.echo(f"{out} ({len(data)} bytes)")


@points.command("leaderboard")
@community_option
@click.option("--json", "as_json", is_flag=True)
def leaderboard_cmd(community: str, as_json: bool) -> None:
    """The public leaderboard: only people who opted in, under the name they chose."""
    from yishi.services import points as service

    rows = run(lambda store, _c: service.leaderboard(store.pool, store, community))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['rank']:>3}. {row['name']}  {row['earned']}")
