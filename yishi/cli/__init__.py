"""The ``yishi`` command: a thin adapter over the service layer.

Each sub-command lives in its own module and is registered here. Exit codes: 0 success, 2 bad input
(with a message naming the file, row, owner or deadline), 1 anything else.
"""

from __future__ import annotations

import click

from yishi.cli import calendar as calendar_cmd
from yishi.cli import runtime
from yishi.cli import tally as tally_cmd


@click.group()
@click.version_option(package_name="yishi")
def cli() -> None:
    """Yishi (议事): deliberation workflows for residential communities."""


cli.add_command(tally_cmd.tally)
cli.add_command(calendar_cmd.calendar)
for _command in (runtime.up, runtime.demo_cmd, runtime.worker, runtime.web, runtime.migrate_cmd, runtime.health):
    cli.add_command(_command)


def main() -> None:
    cli()
