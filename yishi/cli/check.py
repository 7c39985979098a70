"""``yishi check faults``: the fault suite against the real embedded stack (docs/faults.md)."""

from __future__ import annotations

import json
import logging
import sys

import click


@click.group()
def check() -> None:
    """Checks that run the real stack and hurt it on purpose."""


@check.command("faults")
@click.option("--long", "long_", is_flag=True, help="Bigger ballot flood, more restarts, more generated API requests.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON before the summary line.")
@click.option("--only", default="", metavar="N,N", help="Run only these scenarios (1-10), e.g. --only 3,6.")
def faults(long_: bool, as_json: bool, only: str) -> None:
    """Kill the worker, restart Temporal and PostgreSQL, re-run activities, throw bad input and let hostile staff
    try the walls; end with the summary line. Exit 0 only if nothing was lost or duplicated, no server error was
    seen and every attack was refused."""
    from yishi.check.faults import run_faults
    from yishi.logs import configure_logging

    configure_logging("WARNING", False)
    logging.getLogger("asyncpg").setLevel(logging.ERROR)  # reconnect attempts during the outage are expected
    try:
        chosen = {int(n) for n in only.split(",") if n.strip()} or None
    except ValueError:
        raise click.BadParameter("give scenario numbers separated by commas, e.g. 3,5", param_hint="--only") from None
    report = run_faults(long=long_, only=chosen, log=lambda line: click.echo(line, err=True))
    for failure in report.failures:
        click.echo(f"FAILED: {failure}", err=True)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2, default=str))
    click.echo(report.line())
    sys.exit(0 if report.ok else 1)
