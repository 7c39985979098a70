"""What ``yishi points``, ``yishi volunteer`` and ``yishi appraisal`` share: the operator's name and role on every
step that acts, a run with a database pool (and a Temporal client when asked), refusals as exit 2 with their reason.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from domain.errors import DomainError
from yishi.cli.deliberation import cli_settings, fail, with_pool
from yishi.i18n import both, translator

T = TypeVar("T")
ROLES = ("committee", "grid_worker", "street_office", "department", "party_member", "clerk")


def operator(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--name`` (default: the login name), ``--role`` and ``--lang`` on a command that acts."""
    f = click.option("--name", default=None, help="Who acts (default: the login name).")(f)
    f = click.option("--role", type=click.Choice(ROLES), default="committee", show_default=True,
                     help="In what capacity.")(f)
    return lang_option(f)


def lang_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--lang``: the language of what the command prints."""
    return click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)(f)


def who(name: str | None, role: str) -> Any:
    from domain.operator import Operator

    return Operator(name=name or os.environ.get("USER") or "operator", role=role, via="cli")  # type: ignore[arg-type]


def keyed() -> Any:
    """The settings with the secret key links and redemption codes are derived with."""
    from pydantic import SecretStr

    from yishi.web.app import secret_key_for

    settings = cli_settings()
    return settings.model_copy(update={"secret_key": SecretStr(secret_key_for(settings))})


def run(work: Callable[[Any, Any], Awaitable[T]], lang: str = "zh", *, temporal: bool = False) -> T:
    """Run ``work(store, client)`` with a store on a fresh pool (``client`` is None unless ``temporal``);
    domain refusals and dead links become exit 2 with their message."""
    from activities.eventstore import EventStore
    from yishi.services.links import LinkError

    settings = cli_settings()

    async def go(pool: Any) -> T:
        client = None
        if temporal:
            from yishi.temporal_client import connect

            client = await connect(settings)
        return await work(EventStore(pool), client)

    try:
        return asyncio.run(with_pool(settings, go))
    except DomainError as exc:
        fail(translator(lang).error(exc))
    except LinkError as exc:
        fail(translator(lang).gettext("the link is unknown or revoked (%(kind)s)", kind=type(exc).__name__))
    raise AssertionError("unreachable")


def now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(both("%(option)s must be NAME=VALUE, got '%(item)s'", option=what, item=item))
        out[key.strip()] = value.strip()
    return out


def base_url() -> str:
    return keyed().public_base_url or "http://127.0.0.1:8000"
