"""One shared address (the reverse proxy, a carrier NAT): guesses from it never lock a resident out, forwarded
headers count only from a trusted proxy, and HTTPS reported by the proxy makes cookies Secure and adds HSTS.

The proxy is simulated as the brief says: forwarded headers from the loopback test client (trusted by default).
"""

from __future__ import annotations

import secrets

import httpx
import pytest
from pydantic import SecretStr

from tests.web.conftest import BASE_URL, SECRET
from tests.web.test_receipt_check import cast
from yishi.settings import Settings
from yishi.web.app import create_app
from yishi.web.proxy import TrustedProxies, parse_networks

NAT = {"X-Forwarded-For": "203.0.113.7"}  # every resident and the attacker, as the proxy reports them


def _bad_token() -> str:
    return secrets.token_urlsafe(32)


async def test_guessed_links_never_block_a_valid_link_from_the_same_address(client, open_deliberation) -> None:
    d = await open_deliberation(2)
    codes = [(await client.get(f"/v/{_bad_token()}", headers=NAT)).status_code for _ in range(35)]
    assert codes[:30] == [403] * 30 and set(codes[30:]) == {429}, "misses are limited per address"
    resident = await client.get(d.path("o000"), headers=NAT)
    assert resident.status_code == 200 and "是否同意在本楼加装电梯" in resident.text
    api = await client.post("/api/v1/ballots", headers=NAT,
                            json={"token": d.tokens["o001"], "choice": "for", "submission_id": "nat-0001"})
    assert api.status_code == 200, api.text
    assert (await client.get(f"/v/{_bad_token()}", headers=NAT)).status_code == 429, "the guesser is still slowed"


async def test_mistyped_receipt_codes_never_block_a_valid_one(client, open_deliberation, fields) -> None:
    d = await open_deliberation(2)
    code = await cast(client, d, "o000", "for", fields)
    seq = code.split("-")[0]
    for n in range(35):
        typo = f"{seq}-{n:05X}-FFFFF"
        await client.get("/receipt", params={"code": typo}, headers=NAT)
    assert (await client.get("/receipt", params={"code": f"{seq}-00000-00000"}, headers=NAT)).status_code == 429
    page = await client.get("/receipt", params={"code": code}, headers=NAT)
    assert page.status_code == 200 and "这张选票在投票记录中" in page.text
    api = await client.get(f"/api/v1/receipts/{code}", headers=NAT)
    assert api.status_code == 200 and api.json()["ballots"][0]["deliberation_id"] == d.id


async def test_one_receipt_code_is_limited_by_itself(app, client, open_deliberation, fields) -> None:
    d = await open_deliberation(2)
    code = await cast(client, d, "o000", "for", fields)
    other = await cast(client, d, "o001", "against", fields)
    app.state.limits.per_token.limit = 3
    answers = [(await client.get("/receipt", params={"code": code})).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert (await client.get("/receipt", params={"code": other})).status_code == 200, "another code is its own"


async def test_misses_count_per_forwarded_address(app, client) -> None:
    app.state.limits.failures.limit = 3
    first = [(await client.get(f"/v/{_bad_token()}", headers={"X-Forwarded-For": "198.51.100.1"})).status_code
             for _ in range(4)]
    assert first == [403, 403, 403, 429]
    other = await client.get(f"/v/{_bad_token()}", headers={"X-Forwarded-For": "198.51.100.2"})
    assert other.status_code == 403, "another resident's address has a budget of its own"


async def test_all_addresses_together_have_a_budget(app, client) -> None:
    app.state.limits.failures_global.limit = 5
    codes = [(await client.get(f"/v/{_bad_token()}", headers={"X-Forwarded-For": f"198.51.100.{n}"})).status_code
             for n in range(7)]
    assert codes == [403] * 5 + [429] * 2


async def test_https_from_the_trusted_proxy_makes_cookies_secure_and_sends_hsts(client) -> None:
    page = await client.get("/login", headers={"X-Forwarded-Proto": "https", **NAT})
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("yishi_pre=") and "Secure" in cookie and "HttpOnly" in cookie
    plain = await client.get("/login")
    assert "strict-transport-security" not in plain.headers and "Secure" not in plain.headers["set-cookie"]


@pytest.fixture
async def outsider(app):  # type: ignore[no-untyped-def]
    """A client connecting straight from an address that is not a trusted proxy."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.77", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(app, outsider) -> None:
    page = await outsider.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in page.headers and "Secure" not in page.headers["set-cookie"]
    app.state.limits.failures.limit = 3
    # A new made-up address each time would dodge the per-address budget if it were believed.
    codes = [(await outsider.get(f"/v/{_bad_token()}", headers={"X-Forwarded-For": f"192.0.2.{n}"})).status_code
             for n in range(4)]
    assert codes == [403, 403, 403, 429]


async def test_no_trusted_proxy_configured(database_url, pool, store, open_deliberation) -> None:
    app = create_app(Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL,
                              trusted_proxies=""))
    app.state.pool, app.state.store = pool, store
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        page = await c.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in page.headers
        app.state.limits.failures.limit = 2
        codes = [(await c.get(f"/v/{_bad_token()}", headers={"X-Forwarded-For": f"192.0.2.{n}"})).status_code
                 for n in range(3)]
        assert codes == [403, 403, 429], "with no trusted proxy every client is its TCP peer"


def test_the_client_is_the_rightmost_untrusted_hop() -> None:
    proxies = TrustedProxies(parse_networks("127.0.0.1, ::1, 172.30.80.0/24"))
    # The client wrote the first entry itself; the proxy appended what it saw.
    assert proxies.client("127.0.0.1", "6.6.6.6, 203.0.113.7") == "203.0.113.7"
    assert proxies.client("172.30.80.10", "203.0.113.7, 172.30.80.3") == "203.0.113.7"
    assert proxies.client("127.0.0.1", "not-an-address, 172.30.80.3") == "172.30.80.3"
    assert proxies.client("127.0.0.1", "[2001:db8::1]:443") == "2001:db8::1"
    assert proxies.client("127.0.0.1", "127.0.0.1") == "127.0.0.1"
    with pytest.raises(ValueError, match="not an IP address"):
        parse_networks("127.0.0.1, proxy.local")
    with pytest.raises(ValueError, match="YISHI_TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.0.0.0/33")


def test_each_peer_keeps_its_own_trust_decision() -> None:
    """The per-peer cache (the ballot path's CPU, docs/benchmarks.md) never hands one peer another's answer."""
    proxies = TrustedProxies(parse_networks("127.0.0.1, 172.30.80.0/24"))
    other = TrustedProxies(parse_networks("10.0.0.1"))
    for _ in range(2):  # the second round is answered from the caches
        assert [proxies.trusts_peer(p) for p in ("127.0.0.1", "172.30.80.9", "172.30.81.9", "::1", "x")] == [
            True, True, False, False, False]
        assert [other.trusts_peer(p) for p in ("127.0.0.1", "10.0.0.1")] == [False, True]
