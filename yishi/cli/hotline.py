"""``yishi hotline register``: a 12345 hotline system as an organisation (接诉即办 intake, issue 19)."""

from __future__ import annotations

import asyncio

import click

from yishi.cli.stack import data_dir_option, stack_settings


@click.group("hotline")
def hotline() -> None:
    """12345 hotline systems that create tickets through the intake API (docs/escalation.md)."""


@hotline.command("register")
@click.argument("org")
@click.option("--callback-url", default=None, help="Where the signed callbacks go (response, resolution, rating).")
@click.option("--name", default="12345 市民服务热线", show_default=True)
@data_dir_option
def register(org: str, callback_url: str | None, name: str) -> None:
    """Register ORG (e.g. hotline:12345) and print its bearer token and signing secret, once (issuing again
    replaces the token; the secret stays as long as YISHI_SECRET_KEY does)."""
    if not org.startswith("hotline:"):
        raise click.BadParameter("组织编号应以 hotline: 开头 / the organisation id must start with hotline:")
    from activities.db import create_pool
    from yishi.services.hotline import register_hotline
    from yishi.web.app import secret_key_for

    settings = stack_settings("database")

    async def go() -> tuple[str, str]:
        pool = await create_pool(settings.database_url, max_size=1)
        try:
            return await register_hotline(pool, org, secret_key=secret_key_for(settings), callback_url=callback_url,
                                          name_zh=name)
        finally:
            await pool.close()

    token, secret = asyncio.run(go())
    click.echo(f"token (Authorization: Bearer …): {token}")
    click.echo(f"signing secret (X-Yishi-Signature: sha256=HMAC(secret, timestamp.body)): {secret}")
    click.echo("shown once: give both to the hotline's operator over a safe channel")
