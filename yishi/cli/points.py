"""``yishi points …``: a community's points ledger (文明积分, 先锋指数) and exchange shop from a shell.

Every step that acts records the operator's name and role (``--name``, default the login name; ``--role``). Uses
YISHI_DATABASE_URL (``yishi up`` sets it). Exit 2 with the reason (zh / en) on bad input or a refused step.
"""

from __future__ import annotations

import json
from typing import Any

import click

from yishi.cli.deliberation import fail
from yishi.cli.ledger_common import base_url, keyed, lang_option, now, operator, pairs, run, who
from yishi.cli.points_shop import SHOP_COMMANDS
from yishi.i18n import both, translator

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
             lang: str) -> None:
    """Set (or retire) a rule. A rule may never refer to a ballot's content."""
    from domain.points_decide import RetireRule, SetRule
    from domain.points_events import Rule
    from yishi.services import points as service

    by = who(name, role)
    if retire:
        command: Any = RetireRule(at=now(), by=by, rule_id=rule_id, reason=description)
    elif name_zh is None or basis is None or amount is None:
        fail(both("setting a rule needs --name-zh, --basis and --points"))
    else:
        command = SetRule(at=now(), by=by, rule=Rule(
            rule_id=rule_id, name_zh=name_zh, name_en=name_en, basis=basis, per=per, points=amount,  # type: ignore
            pioneer=pioneer, conditions=pairs(conditions, "--condition"), description=description))
    stored = run(lambda store, _c: service.act(store, community, command), lang)
    click.echo(changed(lang, rule_id, stored))


@points.command("vote-participation")
@community_option
@click.argument("state", type=click.Choice(["on", "off"]))
@operator
def vote_participation_cmd(community: str, state: str, name: str | None, role: str, lang: str) -> None:
    """Allow points for taking part in a vote (off by default; taking part only, never how anyone voted)."""
    from domain.points_decide import SetVoteParticipation
    from yishi.services import points as service

    command = SetVoteParticipation(at=now(), by=who(name, role), enabled=state == "on")
    run(lambda store, _c: service.act(store, community, command), lang)
    tr = translator(lang)
    click.echo(tr.gettext("points for taking part in a vote: on") if state == "on"
               else tr.gettext("points for taking part in a vote: off"))


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
               phone: str | None, name: str | None, role: str, lang: str) -> None:
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
    click.echo(translator(lang).gettext("own link: %(url)s", url=link.url(base_url())))


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
              facts: tuple[str, ...], name: str | None, role: str, lang: str) -> None:
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
def award_vote_cmd(community: str, deliberation_id: str, name: str | None, role: str, lang: str) -> None:
    """Award the participation rule to every registered owner who took part (never by what they voted)."""
    from yishi.services import points as service

    given = run(lambda store, _c: service.award_vote_participation(store.pool, store, community, deliberation_id,
                                                                   by=who(name, role), now=now()), lang)
    click.echo(translator(lang).ngettext("%(num)s person awarded", "%(num)s people awarded", given))


@points.command("deduct")
@community_option
@click.argument("person_id")
@click.option("--points", "amount", type=int, default=0)
@click.option("--reverses", default=None, help="An award id given in error.")
@click.option("--reason", required=True)
@operator
def deduct_cmd(community: str, person_id: str, amount: int, reverses: str | None, reason: str, name: str | None,
               role: str, lang: str) -> None:
    """Take points back (never below a zero balance)."""
    from domain.points_decide import Deduct
    from yishi.services import points as service

    command = Deduct(at=now(), by=who(name, role), deduction_id=service.new_id("dd"), person_id=person_id,
                     points=amount, reverses=reverses, reason=reason)
    stored = run(lambda store, _c: service.act(store, community, command), lang)
    click.echo(f"-{stored[-1].payload.get('points')}")


@points.command("opt-in")
@community_option
@click.argument("person_id")
@click.option("--off", is_flag=True, help="Opt out instead.")
@click.option("--display-name", default=None, help="The name the leaderboard shows (the person's choice).")
@operator
def opt_in_cmd(community: str, person_id: str, off: bool, display_name: str | None, name: str | None, role: str,
               lang: str) -> None:
    """Record a person's (written) consent to appear on the public leaderboard, or its withdrawal."""
    from domain.points_decide import SetOptIn
    from yishi.services import points as service

    async def go(store: Any, _c: Any) -> None:
        await service.act(store, community, SetOptIn(at=now(), by=who(name, role), person_id=person_id,
                                                     opted_in=not off))
        if display_name is not None or off:
            await service.set_display_name(store.pool, person_id, None if off else display_name)

    run(go, lang)
    tr = translator(lang)
    click.echo(tr.gettext("%(person)s: not on the leaderboard", person=person_id) if off
               else tr.gettext("%(person)s: on the leaderboard", person=person_id))


@points.command("show")
@community_option
@click.argument("person_id", required=False)
@click.option("--json", "as_json", is_flag=True)
@lang_option
def show_cmd(community: str, person_id: str | None, as_json: bool, lang: str) -> None:
    """Balances (one person's, or everyone's), the rules and the shop's stock."""
    from yishi.services import points as service

    state = run(lambda store, _c: service.ledger(store, community), lang)
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
    tr = translator(lang)
    for p, a in doc["people"].items():
        click.echo(tr.gettext("%(person)s (%(kind)s): balance %(points)s, pioneer index %(pioneer)s, earned "
                              "%(earned)s", person=p, kind=tr.label(a["kind"], "person_kind"), points=a["points"],
                              pioneer=a["pioneer"], earned=a["earned"]))
    for i, s in doc["items"].items():
        click.echo(tr.gettext("item %(item)s %(name)s: %(cost)s points, stock %(stock)s", item=i, name=s["name"],
                              cost=s["cost"], stock=s["stock"]))


@points.command("link")
@community_option
@click.argument("person_id")
@click.option("--reissue", is_flag=True, help="Revoke the live link and issue a new one (a lost phone).")
@click.option("--revoke", is_flag=True, help="Revoke the live link without a new one.")
@click.option("--reason", default="", help="Why (recorded with a revocation).")
@operator
def link_cmd(community: str, person_id: str, reissue: bool, revoke: bool, reason: str, name: str | None, role: str,
             lang: str) -> None:
    """A person's own link (issued once, then the same); reissue or revoke it (recorded in the ledger's stream)."""
    from domain.points_events import points_stream
    from yishi.services import points as service
    from yishi.services.capabilities import reissue_capability, revoke_capability

    key = keyed().secret_key.get_secret_value()
    by = who(name, role)
    actor = f"{by.role}:{by.name}"

    async def go(store: Any, _c: Any) -> Any:
        if revoke:
            return await revoke_capability(store.pool, store, kind="person", subject=points_stream(community),
                                           holder=person_id, by=actor, reason=reason or "revoked", now=now())
        if reissue:
            return await reissue_capability(store.pool, store, kind="person", subject=points_stream(community),
                                            holder=person_id, community=community, by=actor, secret_key=key,
                                            now=now(), reason=reason or "reissued")
        return await service.person_link(store.pool, store, community, person_id, by=by, secret_key=key, now=now())

    found = run(go, lang)
    tr = translator(lang)
    if revoke:
        click.echo(tr.gettext("the link was revoked") if found else tr.gettext("there was no live link"))
    else:
        click.echo(tr.gettext("own link: %(url)s", url=found.url(base_url())))


def changed(lang: str, what: str, stored: list[Any]) -> str:
    """``what: recorded (EventType)``, or that nothing changed."""
    tr = translator(lang)
    if stored:
        return tr.gettext("%(what)s: recorded (%(event)s)", what=what, event=stored[-1].type)
    return tr.gettext("%(what)s: unchanged", what=what)


for _command in SHOP_COMMANDS:
    points.add_command(_command)
