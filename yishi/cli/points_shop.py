"""``yishi points item|redeem|hand-over|cancel|statement|leaderboard``: the exchange shop (积分兑换超市), the monthly
statement and the public leaderboard (the ``points`` group of yishi/cli/points.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from yishi.cli.ledger_common import keyed, lang_option, now, operator, run, who
from yishi.i18n import translator

community_option = click.option("--community", required=True, help="The community (社区) whose ledger it is.")


@click.command("item")
@community_option
@click.option("--id", "item_id", required=True)
@click.option("--name-zh", default=None)
@click.option("--name-en", default="")
@click.option("--cost", type=int, default=None)
@click.option("--stock", type=int, default=None, help="Listing: the stock; afterwards: how many to add.")
@click.option("--withdraw", is_flag=True)
@operator
def item_cmd(community: str, item_id: str, name_zh: str | None, name_en: str, cost: int | None, stock: int | None,
             withdraw: bool, name: str | None, role: str, lang: str) -> None:
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
    from yishi.cli.points import changed

    stored = run(lambda store, _c: service.act(store, community, command), lang)
    click.echo(changed(lang, item_id, stored))


@click.command("redeem")
@community_option
@click.argument("person_id")
@click.argument("item_id")
@operator
def redeem_cmd(community: str, person_id: str, item_id: str, name: str | None, role: str, lang: str) -> None:
    """Redeem an item for a person; prints the redemption code the clerk scans."""
    from yishi.services import points as service

    key = keyed().secret_key.get_secret_value()
    done = run(lambda store, _c: service.redeem(store, community, person_id=person_id, item_id=item_id,
                                                by=who(name, role), now=now(), secret_key=key), lang)
    click.echo(f"{done.redemption_id} -{done.cost}")
    click.echo(translator(lang).gettext("redemption code: %(code)s", code=done.code))


@click.command("hand-over")
@community_option
@click.argument("code")
@operator
def hand_over_cmd(community: str, code: str, name: str | None, role: str, lang: str) -> None:
    """The clerk hands the item of a redemption code over (once)."""
    from yishi.services import points as service

    done = run(lambda store, _c: service.hand_over(store, community, code, by=who(name, role), now=now()), lang)
    click.echo(f"{done['redemption_id']}: {done['item']} → {done['person_id']}")


@click.command("cancel")
@community_option
@click.argument("redemption_id")
@click.option("--reason", required=True)
@operator
def cancel_cmd(community: str, redemption_id: str, reason: str, name: str | None, role: str, lang: str) -> None:
    """Cancel a redemption not yet handed over: the points and the item come back."""
    from domain.points_decide import CancelRedemption
    from yishi.services import points as service

    command = CancelRedemption(at=now(), by=who(name, role), redemption_id=redemption_id, reason=reason)
    run(lambda store, _c: service.act(store, community, command), lang)
    click.echo(translator(lang).gettext("%(redemption)s: cancelled; the points and the item came back",
                                        redemption=redemption_id))


@click.command("statement")
@community_option
@click.option("--month", required=True, help="2025-11 (Beijing time).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="xlsx", show_default=True)
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@lang_option
def statement_cmd(community: str, month: str, fmt: str, out: Path, lang: str) -> None:
    """The monthly statement: balances, earned, deducted, spent per person; the shop's movements."""
    from yishi.services.points_statement import statement_file

    data = run(lambda store, _c: statement_file(store.pool, store, community, month, fmt, lang), lang)
    out.write_bytes(data)
    click.echo(translator(lang).gettext("%(path)s written (%(size)s bytes)", path=str(out), size=len(data)))


@click.command("leaderboard")
@community_option
@click.option("--json", "as_json", is_flag=True)
@lang_option
def leaderboard_cmd(community: str, as_json: bool, lang: str) -> None:
    """The public leaderboard: only people who opted in, under the name they chose."""
    from yishi.services import points as service

    rows = run(lambda store, _c: service.leaderboard(store.pool, store, community), lang)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['rank']:>3}. {row['name']}  {row['earned']}")


SHOP_COMMANDS = (item_cmd, redeem_cmd, hand_over_cmd, cancel_cmd, statement_cmd, leaderboard_cmd)
