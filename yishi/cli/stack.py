"""How a command finds the servers: YISHI_* settings, else the stack ``yishi up`` runs for the data dir.

Every command that talks to PostgreSQL or Temporal takes ``--data-dir`` (default: YISHI_DATA_DIR, else ``.data``
in the project) and calls :func:`stack_settings`; ``yishi up`` in another terminal is all a user needs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from yishi.settings import Settings, get_settings
from yishi.uprecord import Need, NotRunningError, with_running_stack

F = TypeVar("F", bound=Callable[..., Any])


def _use_data_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        os.environ["YISHI_DATA_DIR"] = str(value)
        get_settings.cache_clear()


def data_dir_option(fn: F) -> F:
    """``--data-dir DIR``: the data dir of the ``yishi up`` to use (sets YISHI_DATA_DIR for this command)."""
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        expose_value=False, is_eager=True, callback=_use_data_dir,
                        help="Data dir of the running `yishi up` (default: YISHI_DATA_DIR, else .data in the "
                             "project).")(fn)


def stack_settings(*need: Need) -> Settings:
    """The settings, completed from the running ``yishi up``; exit 1 with what to do when ``need`` is missing."""
    try:
        return with_running_stack(get_settings(), need)
    except NotRunningError as exc:
        click.echo(f"error 错误: {exc}", err=True)
        raise SystemExit(1) from None
