"""The ``yishi`` command: a thin adapter over the service layer.

Each sub-command lives in its own module, imported only when it runs (so `yishi tally` does not load
Temporal or the web stack). Exit codes: 0 success, 2 bad input (with a message naming the file, row,
owner or deadline), 1 anything else.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from typing import NoReturn

import click

# command name -> "module:attribute"
COMMANDS = {
    "up": "yishi.cli.runtime:up",
    "demo": "yishi.cli.runtime:demo_cmd",
    "worker": "yishi.cli.runtime:worker",
    "web": "yishi.cli.runtime:web",
    "migrate": "yishi.cli.runtime:migrate_cmd",
    "health": "yishi.cli.health:health",
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
    "whistle": "yishi.cli.escalate:whistle_cmd",
    "grid": "yishi.cli.grid:grid",
    "ladder": "yishi.cli.ladder:ladder",
    "hotline": "yishi.cli.hotline:hotline",
    "topic": "yishi.cli.topic:topic",
    "meeting": "yishi.cli.meeting:meeting",
    "feedback": "yishi.cli.deliberation:feedback",
    "channels": "yishi.cli.channels:channels",
    "points": "yishi.cli.points:points",
    "volunteer": "yishi.cli.volunteer:volunteer",
    "appraisal": "yishi.cli.appraisal:appraisal",
    "i18n": "yishi.cli.i18n:i18n",
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


def main() -> NoReturn:
    try:
        cli()
    except SystemExit as done:  # click always ends with one
        code = done.code
    except BaseException:  # as the interpreter would report it
        traceback.print_exc()
        code = 1
    exit_process(code)


def exit_process(code: object) -> NoReturn:
    """Exit with ``code``, skipping interpreter teardown once the Temporal SDK is loaded.

    The SDK's Rust runtime keeps native threads that call into Python; when the interpreter finalizes under them
    the process dies with SIGABRT ("PyGILState_Release: thread state … must be current") or SIGSEGV after the
    command has done its work (temporalio/sdk-python#300), and a completed action looks failed. So the output,
    the logs and the traces are flushed here and the process ends without finalizing.
    """
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    if "temporalio.bridge.temporal_sdk_bridge" not in sys.modules:
        raise SystemExit(code)
    from yishi.tracing import shutdown_tracing

    shutdown_tracing()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more to say
            pass
    os._exit(code)
