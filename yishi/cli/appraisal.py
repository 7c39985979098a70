"""``yishi appraisal …``: residents appraise the property company (业主评议物业), the street's register of companies
and its red/black list (红黑榜).

The street office registers companies by 统一社会信用代码, records which manages which estate, sets the items and
weights, attributes escalation tickets to a company and publishes the list; a committee opens an appraisal for its
estate with the owners roll and hands out the owners' links. Every step records the operator's name and role.
"""

from __future__ import annotations

import datetime as dt
import json

import click

from domain.errors import DomainError
from yishi.cli.deliberation import fail
from yishi.cli.ledger_common import base_url, keyed, lang_option, now, operator, run, who
from yishi.i18n import both, translator
from yishi.i18n.points import exact, list_reasons

street_option = click.option("--street", required=True, help="The street office (街道) whose register it is.")


@click.group("appraisal")
def appraisal() -> None:
    """Appraisals of property companies: register, items, open, links, status, tickets, the red/black list."""


@appraisal.command("company")
@street_option
@click.option("--code", "credit_code", required=True, help="统一社会信用代码 (18 characters, checked).")
@click.option("--company-name", required=True)
@click.option("--exemption", default=None, help="Why a code failing the check is recorded (an early pilot code).")
@operator
def company_cmd(street: str, credit_code: str, company_name: str, exemption: str | None, name: str | None, role: str,
                lang: str) -> None:
    """Register a property company by its credit code."""
    from domain.company_decide import RegisterCompany
    from yishi.services import companies

    command = RegisterCompany(at=now(), by=who(name, role), credit_code=credit_code, name=company_name,
                              exemption=exemption)
    stored = run(lambda store, _c: companies.act(store, street, command), lang)
    if stored:
        click.echo(stored[-1].payload["company"]["credit_code"])
    else:
        click.echo(translator(lang).gettext("%(what)s: unchanged", what=credit_code))


@appraisal.command("estate")
@street_option
@click.option("--estate", required=True, help="The estate (物业管理区域), e.g. 幸福里.")
@click.option("--community", required=True)
@click.option("--code", "credit_code", required=True)
@click.option("--since", required=True, help="2020-01-01")
@operator
def estate_cmd(street: str, estate: str, community: str, credit_code: str, since: str, name: str | None, role: str,
               lang: str) -> None:
    """Record which company manages an estate."""
    from domain.company_decide import AssignEstate
    from domain.credit_code import normalise
    from yishi.services import companies

    command = AssignEstate(at=now(), by=who(name, role), estate=estate, community=community,
                           credit_code=normalise(credit_code), since=dt.date.fromisoformat(since))
    run(lambda store, _c: companies.act(store, street, command), lang)
    click.echo(f"{estate} → {normalise(credit_code)}")


@appraisal.command("items")
@street_option
@click.option("--item", "items", multiple=True, required=True, help="ID:名称:WEIGHT, e.g. cleaning:保洁:25.")
@click.option("--owner-weight", type=click.Choice(["headcount", "area"]), default="headcount", show_default=True)
@operator
def items_cmd(street: str, items: tuple[str, ...], owner_weight: str, name: str | None, role: str,
              lang: str) -> None:
    """Set the appraisal items and their weights (the street office's decision)."""
    from domain.appraisal_events import AppraisalItem
    from domain.company_decide import SetItems
    from yishi.services import companies

    parsed = []
    for text in items:
        parts = text.split(":")
        if len(parts) != 3 or not parts[2].isdigit():
            fail(both("an item is written ID:NAME:WEIGHT, e.g. cleaning:保洁:25; got '%(text)s'", text=text))
        parsed.append(AppraisalItem(item_id=parts[0], name_zh=parts[1], weight=int(parts[2])))
    command = SetItems(at=now(), by=who(name, role), items=tuple(parsed), owner_weight=owner_weight)  # type: ignore
    run(lambda store, _c: companies.act(store, street, command), lang)
    click.echo(", ".join(f"{i.name_zh} {i.weight}" for i in parsed))


@appraisal.command("open")
@street_option
@click.option("--estate", required=True)
@click.option("--period", required=True, help="2025Q2, 2025H1, 2025-05 or 2025.")
@click.option("--roll", "roll_path", required=True, help="Owners roll, .csv or .xlsx (frozen for the appraisal).")
@click.option("--scope", "scope_text", default="")
@click.option("--window", default=None, help="How long owners have (default YISHI_APPRAISAL_WINDOW, P14D).")
@click.option("--remind", default=None, help="Reminder before the close (default YISHI_APPRAISAL_REMIND, P2D).")
@operator
def open_cmd(street: str, estate: str, period: str, roll_path: str, scope_text: str, window: str | None,
             remind: str | None, name: str | None, role: str, lang: str) -> None:
    """Open an appraisal of the estate's company; prints its id."""
    from domain.roll import Scope, load_roll
    from yishi.services import appraisals
    from yishi.services.files import file_limits, read_bounded

    settings = keyed()
    try:
        limits = file_limits(settings)
        roll = load_roll(read_bounded(roll_path, limits.max_bytes), roll_path, limits)
    except OSError as exc:
        fail(f"{roll_path}: {exc.strerror or exc}")
    except DomainError as exc:
        fail(translator(lang).error(exc))
    req = appraisals.AppraisalRequest(street=street, estate=estate, period=period, scope=Scope.parse(scope_text),
                                      window=window or settings.appraisal_window,
                                      remind=remind or settings.appraisal_remind, by=who(name, role))
    appraisal_id = run(lambda store, client: appraisals.open_appraisal(client, store.pool, store, roll, req,
                                                                       task_queue=settings.task_queue, now=now()),
                       lang, temporal=True)
    click.echo(appraisal_id)


@appraisal.command("links")
@click.argument("appraisal_id")
@click.option("--owner", "owners", multiple=True, help="Only these owners (default: every owner in scope).")
@click.option("--by", "by", required=True, help="Who prints the links (recorded in the appraisal's stream).")
def links_cmd(appraisal_id: str, owners: tuple[str, ...], by: str) -> None:
    """Issue (what is missing) and print the owners' personal links as CSV: owner_id,url. Recorded."""
    from yishi.services import appraisals
    from yishi.services.csvsafe import write_csv
    from yishi.services.link_issuing import Actor

    key = keyed().secret_key.get_secret_value()
    links = run(lambda store, _c: appraisals.give_links(store, appraisal_id, list(owners) or None,
                                                        actor=Actor(by=by, via="cli"), secret_key=key, now=now()))
    click.echo(write_csv(("owner_id", "url"), [(link.owner_id, link.url(base_url())) for link in links]), nl=False)


@appraisal.command("status")
@click.argument("appraisal_id")
@click.option("--json", "as_json", is_flag=True)
@lang_option
def status_cmd(appraisal_id: str, as_json: bool, lang: str) -> None:
    """Who is appraised, how many rated, and the result by item with exact figures (running until closed)."""
    from yishi.services import appraisals

    tr = translator(lang)
    state = run(lambda store, _c: appraisals.appraisal(store, appraisal_id), lang)
    if state.opened is None:
        fail(tr.gettext("no appraisal %(appraisal_id)s", appraisal_id=appraisal_id))
    result = appraisals.result_of(state)
    doc = {"appraisal_id": appraisal_id, "status": state.status, "company": state.opened.company.model_dump(),
           "estate": state.opened.estate, "period": state.opened.period,
           "closes_at": state.opened.closes_at.isoformat(),
           "result": result.model_dump(mode="json") if result else None}
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    opened = state.opened
    click.echo(tr.gettext("%(id)s (%(status)s) %(estate)s: %(company)s (%(code)s), %(period)s, closes %(when)s",
                          id=appraisal_id, status=tr.label(state.status, "appraisal_status"), estate=opened.estate,
                          company=opened.company.name, code=opened.company.credit_code, period=opened.period,
                          when=tr.when(opened.closes_at)))
    if result is not None:
        click.echo(tr.gettext("rated: %(raters)s / %(eligible)s owners", raters=result.raters,
                              eligible=result.eligible))
        names = {i.item_id: (i.name_en if lang == "en" else "") or i.name_zh for i in opened.items}
        for item in result.items:
            click.echo("  " + tr.gettext("%(item)s (weight %(weight)s): mean %(mean)s, score %(score)s",
                                         item=names[item.item_id], weight=item.weight, mean=exact(item.mean),
                                         score=exact(item.score)))
        click.echo("  " + tr.gettext("overall score: %(score)s", score=exact(result.score)))


@appraisal.command("rebuild")
@lang_option
def rebuild_cmd(lang: str) -> None:
    """Rebuild the appraisals read model from the appraisal streams (after a restore)."""
    from yishi.services.appraisal_rows import rebuild_appraisals

    click.echo(f"{run(lambda store, _c: rebuild_appraisals(store.pool), lang)} appraisals")


@appraisal.command("attribute")
@street_option
@click.argument("ticket_id")
@click.option("--code", "credit_code", required=True)
@click.option("--note", default="")
@operator
def attribute_cmd(street: str, ticket_id: str, credit_code: str, note: str, name: str | None, role: str,
                  lang: str) -> None:
    """Attribute an escalation ticket to a company (it counts towards the black list)."""
    from domain.company_decide import AttributeTicket
    from domain.credit_code import normalise
    from yishi.services import companies

    command = AttributeTicket(at=now(), by=who(name, role), ticket_id=ticket_id, credit_code=normalise(credit_code),
                              note=note)
    run(lambda store, _c: companies.attribute_ticket(store, street, command), lang)  # the console's rule too
    click.echo(f"{ticket_id} → {normalise(credit_code)}")


@appraisal.command("publish")
@street_option
@click.option("--period", required=True)
@click.option("--json", "as_json", is_flag=True)
@operator
def publish_cmd(street: str, period: str, as_json: bool, name: str | None, role: str, lang: str) -> None:
    """Compute and publish the street's red/black list for the period (thresholds: YISHI_APPRAISAL_*)."""
    from yishi.services import companies

    thresholds = companies.list_thresholds(keyed())
    published = run(lambda store, _c: companies.publish_list(store, street, period, by=who(name, role), now=now(),
                                                             thresholds=thresholds), lang)
    if as_json:
        click.echo(published.model_dump_json(indent=2))
        return
    tr = translator(lang)
    for entry in published.entries:
        reasons = list_reasons(tr, entry, published.thresholds)
        click.echo(tr.gettext("%(list)s %(code)s %(name)s: score %(score)s, %(tickets)s tickets", list=tr.label(
            entry.list, "company_list"), code=entry.credit_code, name=entry.name, score=exact(entry.score),
            tickets=len(entry.tickets)) + (f" ({'; '.join(reasons)})" if reasons else ""))
