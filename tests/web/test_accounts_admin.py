"""Accounts an operator can disable, enable and reset from the CLI, sessions a user can end on other devices, the
session lifetime as a setting, and every such act in the hash-chained ``accounts`` stream auditors read."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import timedelta

import httpx
from pydantic import SecretStr

from domain.chain import verify_chain
from tests.web.conftest import BASE_URL, PASSWORD, SECRET, form_fields
from yishi.services.accounts import ACCOUNTS_STREAM, add_account
from yishi.settings import Settings
from yishi.web.app import create_app

NEW_PASSWORD = "a brand new secret 42"


async def yishi_user(database_url: str, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    env = {**os.environ, "YISHI_DATABASE_URL": database_url, "YISHI_LOG_JSON": "false"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from yishi.cli.users import user; user()", *args, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate(stdin)
    return process.returncode or 0, out.decode(), err.decode()


async def browser(app, name: str, password: str = PASSWORD, agent: str = "test") -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    """A client signed in as ``name`` (the caller closes it)."""
    c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers={"User-Agent": agent})
    form = form_fields((await c.get("/login")).text, "/login")
    response = await c.post("/login", data={**form, "name": name, "password": password})
    assert response.status_code == 303, response.text
    return c


async def _account(pool, role: str = "committee") -> tuple[str, int]:  # type: ignore[no-untyped-def]
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    account = await add_account(pool, name, role, PASSWORD, community="幸福社区", by="test")
    return name, account.id


async def events_of(store, account_id: int) -> list:  # type: ignore[no-untyped-def]
    return [e for e in await store.read(ACCOUNTS_STREAM) if e.payload["account_id"] == account_id]


async def test_disable_ends_sessions_at_once_and_enable_restores_sign_in(app, pool, store, database_url) -> None:
    name, account_id = await _account(pool)
    signed_in = await browser(app, name)
    assert (await signed_in.get("/console")).status_code == 200
    code, out, err = await yishi_user(database_url, "disable", name, "--reason", "left the committee")
    assert code == 0 and "1 session(s) ended" in out, err
    refused = await signed_in.get("/console")
    assert refused.status_code == 303 and refused.headers["location"] == "/login", "the session ended at once"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        form = form_fields((await c.get("/login")).text, "/login")
        assert (await c.post("/login", data={**form, "name": name, "password": PASSWORD})).status_code == 401
    again = await yishi_user(database_url, "disable", name)
    assert again[0] == 2 and "disabled already" in again[2]
    assert (await yishi_user(database_url, "enable", name, "--by", "operator:王工"))[0] == 0
    await (await browser(app, name)).aclose()
    kinds = [(e.type, e.payload["by"]) for e in await events_of(store, account_id)]
    assert kinds[0] == ("AccountCreated", "test") and kinds[2] == ("AccountEnabled", "operator:王工")
    disabled = (await events_of(store, account_id))[1]
    assert disabled.type == "AccountDisabled" and disabled.payload["by"].startswith("cli")
    assert disabled.payload["reason"] == "left the committee" and disabled.payload["sessions_ended"] == 1
    await signed_in.aclose()


async def test_reset_password_one_time_then_the_user_chooses_their_own(app, pool, store, database_url,
                                                                      fields) -> None:
    name, account_id = await _account(pool, "grid_worker")
    old = await browser(app, name)
    code, out, err = await yishi_user(database_url, "reset-password", name, "--generate")
    assert code == 0 and "1 session(s) ended" in err, err
    temporary = out.strip()
    assert len(temporary) >= 20 and (await old.get("/console")).status_code == 303
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        form = fields((await c.get("/login")).text, "/login")
        signed = await c.post("/login", data={**form, "name": name, "password": temporary})
        assert signed.status_code == 303 and signed.headers["location"] == "/console/account"
        blocked = await c.get("/console")
        assert blocked.status_code == 303 and blocked.headers["location"] == "/console/account"
        page = await c.get("/console/account")
        assert "临时密码" in page.text
        change = fields(page.text, "/console/account/password")
        wrong = await c.post("/console/account/password",
                             data={**change, "current": "not it at all", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
        assert wrong.status_code == 403 and "当前密码不对" in wrong.text
        change = fields(wrong.text, "/console/account/password")
        done = await c.post("/console/account/password",
                            data={**change, "current": temporary, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
        assert done.status_code == 303 and (await c.get("/console")).status_code == 200
    await (await browser(app, name, NEW_PASSWORD)).aclose()
    reset, changed = (await events_of(store, account_id))[1:]
    assert reset.type == "PasswordReset" and reset.payload["one_time"] is True
    assert changed.type == "PasswordChanged" and changed.payload["by"] == f"account:{account_id}"
    assert temporary not in str(reset.payload) and "argon2" not in str(reset.payload)
    await old.aclose()


async def test_a_user_ends_the_session_on_another_device(app, pool, store, fields) -> None:
    name, account_id = await _account(pool, "auditor")
    phone = await browser(app, name, agent="Phone in a taxi")
    desk = await browser(app, name, agent="Office desktop")
    page = await desk.get("/console/account")
    assert page.text.count('class="session"') == 2 and "Phone in a taxi" in page.text and "本设备" in page.text
    form = fields(page.text, "/console/account/sessions/end")  # the first: the phone's (newest is the desk's)
    ended = await desk.post("/console/account/sessions/end", data=form)
    assert ended.status_code == 200 and "已结束 1 个登录" in ended.text
    assert (await phone.get("/console")).status_code == 303, "the other device is signed out"
    assert (await desk.get("/console")).status_code == 200, "this device is not"
    last = (await events_of(store, account_id))[-1]
    assert last.type == "SessionsEnded" and last.payload == {
        "account_id": account_id, "name": name, "by": f"account:{account_id}", "sessions_ended": 1}
    forged = await desk.post("/console/account/sessions/end", data={**form, "csrf": "0" * 32})
    assert forged.status_code == 403
    await phone.aclose()
    await desk.aclose()


async def test_session_lifetime_is_a_setting(database_url, pool, store) -> None:
    app = create_app(Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                              session_hours=1.5))
    app.state.pool, app.state.store = pool, store
    name, account_id = await _account(pool)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        form = form_fields((await c.get("/login")).text, "/login")
        signed = await c.post("/login", data={**form, "name": name, "password": PASSWORD})
        assert "Max-Age=5400" in signed.headers["set-cookie"]
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT created_at, expires_at FROM web_sessions WHERE account_id = $1", account_id)
    assert row["expires_at"] - row["created_at"] == timedelta(hours=1.5)


async def test_auditors_read_the_account_log_with_its_chain_checked(app, pool, store, database_url) -> None:
    name, _ = await _account(pool, "committee")
    assert (await yishi_user(database_url, "disable", name))[0] == 0
    auditor_name, _ = await _account(pool, "auditor")
    auditor = await browser(app, auditor_name)
    page = await auditor.get("/console/accounts/log")
    assert page.status_code == 200 and "哈希链完整" in page.text and "停用账号" in page.text and name in page.text
    committee_name, _ = await _account(pool, "committee")
    committee = await browser(app, committee_name)
    assert (await committee.get("/console/accounts/log")).status_code == 403
    events = await store.read(ACCOUNTS_STREAM)
    verify_chain([e.envelope() | {"hash": e.hash} for e in events], ACCOUNTS_STREAM)
    code, out, err = await yishi_user(database_url, "log")
    assert code == 0 and "chain holds" in err and f"AccountDisabled\t{name}" in out
    listed = await yishi_user(database_url, "list")
    assert listed[0] == 0 and f"{name}\tcommittee" in listed[1] and "disabled" in listed[1]
    await auditor.aclose()
    await committee.aclose()
