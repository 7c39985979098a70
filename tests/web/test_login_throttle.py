"""Sign-in throttling: only failures count, by account and address, as a slow-down that never refuses the real
user because of failures elsewhere; every spelling of a name shares one count."""

from __future__ import annotations

import uuid

import httpx

from tests.web.conftest import BASE_URL, PASSWORD, form_fields
from yishi.services.accounts import add_account
from yishi.web.throttle import ADDRESS_FREE, PAIR_FREE, UNDER_ATTACK


class Clock:
    """The throttle's clock, moved by the test (no sleeping, no racing a timer)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _account(pool, name: str | None = None) -> str:  # type: ignore[no-untyped-def]
    name = name or f"grid{uuid.uuid4().hex[:6]}"
    await add_account(pool, name, "grid_worker", PASSWORD, community="幸福社区")
    return name


async def sign_in(app, name: str, password: str, address: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    """One sign-in from ``address`` (as the trusted reverse proxy reports it), in a fresh browser."""
    headers = {"X-Forwarded-For": address}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        form = form_fields((await c.get("/login", headers=headers)).text, "/login")
        return await c.post("/login", data={**form, "name": name, "password": password}, headers=headers)


async def test_failures_from_other_addresses_never_refuse_the_right_password(app, pool) -> None:
    name = await _account(pool)
    for n in range(12):
        wrong = await sign_in(app, name, f"wrong password {n}", f"198.51.100.{n}")
        assert wrong.status_code == 401
    assert (await sign_in(app, name, PASSWORD, "203.0.113.50")).status_code == 303
    assert (await sign_in(app, name, PASSWORD, "198.51.100.3")).status_code == 303, "one typo there is no lock"


async def test_successful_sign_ins_do_not_count(app, pool) -> None:
    name = await _account(pool)
    codes = [(await sign_in(app, name, PASSWORD, "203.0.113.9")).status_code for _ in range(15)]
    assert codes == [303] * 15


async def test_every_spelling_of_a_name_shares_one_count(app, pool) -> None:
    app.state.limits.logins.clock = Clock()
    name = await _account(pool, f"gridA{uuid.uuid4().hex[:4]}")
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in name)  # ｇｒｉｄＡ…
    for spelling in [name] * PAIR_FREE:
        assert (await sign_in(app, spelling, "wrong password", "198.51.100.20")).status_code == 401
    for spelling in (f" {name}", f"{name}\u3000", wide):
        slowed = await sign_in(app, spelling, "wrong password", "198.51.100.20")
        assert slowed.status_code == 429, f"{spelling!r} got a count of its own"
    assert (await sign_in(app, f"  {wide} ", PASSWORD, "203.0.113.60")).status_code == 303, "the same account"


async def test_the_slow_down_is_a_wait_that_ends(app, pool) -> None:
    clock = app.state.limits.logins.clock = Clock()
    name = await _account(pool)
    for _ in range(PAIR_FREE):
        assert (await sign_in(app, name, "wrong password", "198.51.100.30")).status_code == 401
    slowed = await sign_in(app, name, PASSWORD, "198.51.100.30")
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "1" and "不会锁定账号" in slowed.text
    clock.now += 1
    assert (await sign_in(app, name, "wrong again", "198.51.100.30")).status_code == 401
    assert (await sign_in(app, name, PASSWORD, "198.51.100.30")).headers["Retry-After"] == "2", "it doubles"
    clock.now += 2
    assert (await sign_in(app, name, PASSWORD, "198.51.100.30")).status_code == 303
    assert (await sign_in(app, name, "wrong password", "198.51.100.30")).status_code == 401, "success cleared it"


async def test_an_account_under_attack_from_many_addresses(app, pool) -> None:
    app.state.limits.logins.clock = Clock()
    name = await _account(pool)
    for n in range(UNDER_ATTACK):
        await sign_in(app, name, "wrong password", f"10.9.{n // 250}.{n % 250}")
    # Each attacking address now gets one quick guess, then waits; the owner's own address is untouched.
    assert (await sign_in(app, name, "wrong password", "10.9.0.1")).status_code == 429
    assert (await sign_in(app, name, "wrong password", "10.99.0.1")).status_code == 401
    assert (await sign_in(app, name, "wrong password", "10.99.0.1")).status_code == 429
    assert (await sign_in(app, name, PASSWORD, "203.0.113.70")).status_code == 303


async def test_one_address_spraying_many_names_is_slowed(app, pool) -> None:
    clock = app.state.limits.logins.clock = Clock()
    for n in range(ADDRESS_FREE):
        assert (await sign_in(app, f"nobody-{n}", "wrong password", "198.51.100.40")).status_code == 401
    name = await _account(pool)
    slowed = await sign_in(app, name, PASSWORD, "198.51.100.40")
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) <= 60
    assert (await sign_in(app, name, PASSWORD, "203.0.113.80")).status_code == 303, "other addresses are not"
    clock.now += 60
    assert (await sign_in(app, name, PASSWORD, "198.51.100.40")).status_code == 303, "at most a minute"
