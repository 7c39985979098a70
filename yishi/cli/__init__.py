"""The ``yishi`` command: a thin adapter over the service layer.

Each sub-command lives in its own module, imported only when it runs (so `yishi tally` does not load
Temporal or the web stack). Exit codes: 0 success, 2 bad input (with a message naming the file, row,
owner or deadline), 1 anything else.
"""

from __future__ import annotations

import importlib

import click

# command name -> "module:attribute"
COMMANDS = {
    "up": "yishi.cli.runtime:up",
    "demo": "yishi.cli.runtime:demo_cmd",
    "worker": "yishi.cli.runtime:worker",
    "web": "yishi.cli.runtime:web",
    "migrate": "yishi.cli.runtime:migrate_cmd",
    "health": "yishi.cli.runtime:health",
    "tally": "yishi.cli.tally:tally",
    "calendar": "yishi.cli.calendar:calendar",
    "links": "yishi.cli.links:links",
    "user": "yishi.cli.users:user",
    "audit": "yishi.cli.audit:audit",
    "start": "yishi.cli.deliberation:start",
    "status": "yishi.cli.deliberation:status",
    "task": "yishi.cli.deliberation:task",
    "check": "yishi.cli.check:check",
    "report": "yishi.cli.report:report",
    "bench": "yishi.cli.bench:bench",
    "roll": "yishi.cli.roll:roll",
    "escalate": "yishi.cli.escalate:escalate",
    "topic": "yishi.cli.topic:topic",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup)
@click.version_option(package_name="yishi")
def cli() -> None:
    """Yishi (议事): deliberation workflows for residential communities."""


def main() -> None:
    cli()
