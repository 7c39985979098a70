"""``yishi tally``: count a vote from a roll file and a ballots file.

Exit 0 with the result; exit 2 with a message naming the file and row on bad input (never a traceback).
"""

from __future__ import annotations

import json
import unicodedata
from fractions import Fraction

import click

from domain.ballot_files import parse_ballots, parse_proxies
from domain.errors import DomainError
from domain.filelimits import FileLimits
from domain.numbers import NO_VALUE, decimal_str, fraction_str, percent, shown_percent
from domain.roll import Scope, load_roll
from domain.rules import RULES, Threshold, get_rule
from domain.tally import TallySettings
from domain.tally import tally as run_tally
from domain.tally_result import TallyResult
from yishi.i18n import Translator, translator
from yishi.services.files import file_limits, read_bounded
from yishi.settings import get_settings


def _read(path: str, tr: Translator, limits: FileLimits) -> bytes:
    try:
        return read_bounded(path, limits.max_bytes)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise click.ClickException(tr.gettext("%(path)s: cannot read (%(reason)s)", path=path, reason=reason)) from None


def _fail(message: str) -> None:
    click.echo(message, err=True)
    raise SystemExit(2)


@click.command("tally")
@click.option("--roll", "roll_path", required=True, help="Owners roll, .csv or .xlsx.")
@click.option("--ballots", "ballots_path", required=True, help="Ballots CSV: owner_id, choice, channel, cast_at.")
@click.option("--rule", "rule_id", required=True, help="Rule id: " + ", ".join(RULES))
@click.option("--scope", "scope_text", default="", help="building=3,entrance=2 | building=3 | rooms=101,102")
@click.option(
    "--proxies",
    "proxies_path",
    default=None,
    help="CSV: owner_id, proxy_owner_id, authorised_at[, revoked_at].",
)
@click.option("--proxy-limit", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--deem-silent", is_flag=True, help="Also report the tally with silent owners following the majority.")
@click.option(
    "--deem-over-half",
    is_flag=True,
    help="With --deem-silent: deem only when the majority's own ballots exceed half of all owners and of the area.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def tally(
    roll_path: str,
    ballots_path: str,
    rule_id: str,
    scope_text: str,
    proxies_path: str | None,
    proxy_limit: int,
    deem_silent: bool,
    deem_over_half: bool,
    as_json: bool,
    lang: str,
) -> None:
    """Count ballots against a roll under a decision rule (民法典 第278条)."""
    tr = translator(lang)
    if deem_over_half and not deem_silent:
        _fail(tr.gettext("--deem-over-half is a condition on silent-owner deeming: add --deem-silent"))
    try:
        settings = TallySettings(proxy_limit=proxy_limit, deem_silent=deem_silent, deem_over_half=deem_over_half)
        rule = get_rule(rule_id)
        limits = file_limits(get_settings())
        roll = load_roll(_read(roll_path, tr, limits), roll_path, limits)
        electorate = roll.select(Scope.parse(scope_text))
        ballots = parse_ballots(_read(ballots_path, tr, limits), ballots_path, limits)
        proxies = (parse_proxies(_read(proxies_path, tr, limits), proxies_path, limits) if proxies_path
                   else [])
    except click.ClickException as exc:
        _fail(exc.message)
        return
    except DomainError as exc:
        _fail(tr.error(exc))
        return
    for note in roll.notes:
        click.echo(tr.error(note), err=True)
    result = run_tally(electorate, rule, ballots, proxies=proxies, settings=settings)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(render(result, tr.error(electorate.scope.describe()), lang))


def _labels(tr: Translator) -> dict[str, str]:
    return {
        "rule": tr.pgettext("tally", "Rule"), "scope": tr.pgettext("tally", "Scope"),
        "owners": tr.pgettext("tally", "owners"), "area": tr.pgettext("tally", "area (m²)"),
        "eligible": tr.pgettext("tally", "All owners"), "participating": tr.pgettext("tally", "Participating"),
        "for": tr.label("for", "choice"), "against": tr.label("against", "choice"),
        "abstain": tr.label("abstain", "choice"), "approved": tr.pgettext("tally", "approved"),
        "rejected": tr.pgettext("tally", "rejected"), "no_quorum": tr.pgettext("tally", "no quorum: the vote is void"),
        "outcome": tr.pgettext("tally", "Outcome"), "ignored": tr.pgettext("tally", "Ballots not counted"),
        "deeming": tr.pgettext("tally", "Silent owners"), "met": tr.pgettext("tally", "met"),
        "unmet": tr.pgettext("tally", "NOT met"),
        "effective": tr.pgettext("tally", "Outcome with silent owners deemed"),
        "deemed": tr.pgettext("tally", "With silent owners deemed"),
        "decides": tr.pgettext("tally", "Tally that decides"),
        "decides_deemed": tr.pgettext("tally", "the deemed tally"),
        "decides_cast": tr.pgettext("tally", "the ballots cast"),
    }


def _share(value: Fraction | None, threshold: Threshold) -> str:
    """``10/13 ≈ 76.9%``: the exact ratio, then the figure of domain/numbers.py (never across the threshold)."""
    if value is None:
        return NO_VALUE
    sign = "=" if shown_percent(value, threshold) == value * 100 else "≈"
    return f"{fraction_str(value)} {sign} {percent(value, threshold)}"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(text: str, width: int, right: bool = True) -> str:
    pad = " " * max(width - _width(text), 0)
    return pad + text if right else text + pad


def render(result: TallyResult, scope: str, lang: str = "zh") -> str:
    """A readable table of ``result`` (display only: the exact figures are in the JSON)."""
    t = _labels(translator(lang))
    lines = [
        f"{t['rule']}: {result.rule_name_en if lang == 'en' else result.rule_name_zh} ({result.rule})",
        f"{t['scope']}: {scope}",
        _cell("", 16, right=False) + _cell(t["owners"], 10) + _cell(t["area"], 16),
    ]
    for key, count in (
        ("eligible", result.eligible),
        ("participating", result.participating),
        ("for", result.in_favour),
        ("against", result.against),
        ("abstain", result.abstain),
    ):
        lines.append(_cell(t[key], 16, right=False) + _cell(str(count.owners), 10) + _cell(decimal_str(count.area), 16))
    for cond in result.conditions:
        name = cond.name_en if lang == "en" else cond.name_zh
        lines.append(f"  [{t['met'] if cond.met else t['unmet']}] {name}: {_share(cond.ratio, cond.threshold)}")
    lines.append(f"{t['outcome']}: {t[result.outcome]}")
    if result.deeming is not None:
        lines.append(f"{t['deeming']}: {result.deeming.en if lang == 'en' else result.deeming.zh}")
        if result.deemed:
            deemed = result.decided()
            lines.append(f"{t['deemed']}:")
            for key, count in (("participating", deemed.participating), ("for", deemed.in_favour),
                               ("against", deemed.against), ("abstain", deemed.abstain)):
                lines.append(_cell("  " + t[key], 16, right=False) + _cell(str(count.owners), 10)
                             + _cell(decimal_str(count.area), 16))
        lines.append(f"{t['effective']}: {t[result.effective_outcome]}")
        lines.append(f"{t['decides']}: {t['decides_deemed'] if result.deemed else t['decides_cast']}")
    if result.ignored:
        lines.append(f"{t['ignored']}: {len(result.ignored)}")
        for item in result.ignored:
            lines.append(f"  - {item.owner_id}: {item.en if lang == 'en' else item.zh}")
    return "\n".join(lines)
