"""Web fixtures: the ASGI app on the session's real PostgreSQL, deliberations opened with the lead's code,
personal links, and (for browser tests) a uvicorn server and headless Chromium."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from activities.box import BoxActivities, SealInput
from activities.eventstore import EventStore
from domain.events import Question
from domain.roll import Roll, Room, Scope
from yishi.services.deliberations import DeliberationSpec, box_params, register, store_roll
from yishi.services.link_issuing import Actor, disclose_links, issue_and_disclose, reissue_link
from yishi.services.links import IssuedLink
from yishi.settings import Settings
from yishi.web.app import create_app

SECRET = "test-secret-key-for-web-tests-0123456789"
BASE_URL = "http://testserver"
PASSWORD = "correct horse battery"


@dataclass
class Opened:
    """A deliberation opened for a test, with every owner's personal link."""

    id: str
    roll: Roll
    closes_at: datetime
    tokens: dict[str, str] = field(default_factory=dict)
    opens_at: datetime | None = None

    @property
    def sheet(self) -> dict[str, str]:
        """The fill-in date of a paper sheet filled in on the day the box opened (Beijing time)."""
        assert self.opens_at is not None
        return {"filled_date": self.opens_at.astimezone(timezone(timedelta(hours=8))).date().isoformat()}

    @property
    def owners(self) -> list[str]:
        return list(dict.fromkeys(r.owner_id for r in self.roll.rooms))

    def path(self, owner_id: str) -> str:
        return f"/v/{self.tokens[owner_id]}"


def make_roll(owners: int, *, buildings: int = 2, entrances: int = 2) -> Roll:
    """``owners`` owners o000…, one room each, spread over buildings and entrances, areas 80–99 m²."""
    rooms = []
    for n in range(owners):
        building, entrance = str(n % buildings + 1), str(n // buildings % entrances + 1)
        floor = str(n // (buildings * entrances) % 18 + 1)
        rooms.append(Room(
            room_id=f"{building}-{entrance}-{floor}{n % 100:02d}", building=building, entrance=entrance,
            floor=floor, area_m2=Decimal(80 + n % 20) + Decimal("0.5"), owner_id=f"o{n:03d}",
            owner_name=f"业主{n}", phone=f"1380000{n:04d}",
        ))
    return Roll(rooms=tuple(rooms), source="test-roll.csv")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=SecretStr(SECRET), public_base_url=BASE_URL)


@pytest.fixture
def app(settings: Settings, pool, store: EventStore):  # type: ignore[no-untyped-def]
    """The app with the session's pool and store (the lifespan would open its own)."""
    application = create_app(settings)
    application.state.pool = pool
    application.state.store = store
    return application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


OpenFn = Callable[..., Awaitable[Opened]]


@pytest.fixture
def open_deliberation(pool, store: EventStore) -> OpenFn:  # type: ignore[no-untyped-def]
    """Open a ballot box the way the workflow does (the lead's ``open_box`` activity), issue links."""

    async def opener(owners: int = 8, *, changeable: bool = True, minutes: int = 60,
                     rule_id: str = "cc278-ordinary", roll: Roll | None = None, community: str = "default",
                     links: bool = True, paper_entry: str | None = None, deem_silent: bool = False,
                     procedure: str = "test", details: dict | None = None, scope: Scope | None = None) -> Opened:
        roll = roll or make_roll(owners)
        now = datetime.now(UTC)
        spec = DeliberationSpec(
            procedure=procedure, title="加装电梯意见征询", rule_id=rule_id, scope=scope or Scope(),
            details=details or {},
            question=Question(text_zh="是否同意在本楼加装电梯？", text_en="Install an elevator in this building?"),
            notice_zh="加装电梯方案已在一楼公告栏张贴。\n请在截止前投票。",
            notice_en="The elevator plan is posted in the lobby.\nPlease vote before the deadline.",
            opens_at=now - timedelta(minutes=5), closes_at=now + timedelta(minutes=minutes),
            ballots_changeable=changeable, community=community, paper_entry=paper_entry, deem_silent=deem_silent,
        )
        deliberation_id = f"web-{uuid.uuid4().hex[:12]}"
        digest = await store_roll(pool, roll)
        await register(pool, deliberation_id, spec, digest)
        await BoxActivities(store, pool).open_box(box_params(deliberation_id, spec, digest).open)
        opened = Opened(deliberation_id, roll, spec.closes_at, opens_at=spec.opens_at)
        if links:  # links=False: a box whose links are still to be issued
            issued = await give_links(store, deliberation_id, opened.owners, now=now)
            opened.tokens = {link.owner_id: link.token for link in issued}
        return opened

    return opener


TEST_ACTOR = Actor("test", "system")


async def give_links(store: EventStore, deliberation_id: str, owners: list[str], *, secret_key: str = SECRET,
                     now: datetime | None = None) -> list[IssuedLink]:
    """Issue the owners' links and show them to the test (both recorded, as ``yishi links`` does)."""
    return await issue_and_disclose(store, deliberation_id, owners, secret_key=secret_key,
                                    now=now or datetime.now(UTC), actor=TEST_ACTOR, fmt="csv")


async def reissue_and_show(store: EventStore, deliberation_id: str, owner_id: str, *, secret_key: str = SECRET,
                           by: str = "test") -> IssuedLink:
    """Reissue one owner's link and show the new one (a committee member reissuing and printing the sheet)."""
    actor = Actor(by, "console")
    now = datetime.now(UTC)
    await reissue_link(store, deliberation_id, owner_id, secret_key=secret_key, now=now, actor=actor)
    (link,) = await disclose_links(store, deliberation_id, [owner_id], secret_key=secret_key, now=now, actor=actor,
                                   fmt="sheet")
    return link


@pytest.fixture
def seal(pool, store: EventStore):  # type: ignore[no-untyped-def]
    async def sealer(deliberation_id: str, reason: str = "withdrawn") -> None:
        at = datetime.now(UTC)
        await BoxActivities(store, pool).seal_box(SealInput(deliberation_id=deliberation_id, at=at, reason=reason))

    return sealer


def form_fields(html: str, action_suffix: str = "") -> dict[str, str]:
    """The hidden fields of the first form whose action ends with ``action_suffix`` (before ``?``)."""
    import re

    for match in re.finditer(r'<form method="post" action="([^"]*)"[^>]*>(.*?)</form>', html, re.S):
        action = match.group(1).split("?")[0]
        if action_suffix and not action.endswith(action_suffix):
            continue
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', match.group(2)))
        fields["_action"] = match.group(1)
        return fields
    raise AssertionError(f"no form ending in {action_suffix!r} on the page")


@pytest.fixture
def fields() -> Callable[..., dict[str, str]]:
    return form_fields


# ---- live server and browser ---------------------------------------------------------------------------

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture
async def live_server(app) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """The app served by uvicorn on a free port, in this event loop, sharing the session's pool."""
    import asyncio
    import socket

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None,
                                           proxy_headers=False))  # the app reads them (yishi/web/proxy.py)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[object]:
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    import os

    executable = os.environ.get("YISHI_CHROMIUM")
    if not executable:
        pytest.skip("YISHI_CHROMIUM is not set: point it at Debian's chromium (scripts/test.sh does) "
                    "to run the browser tests")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def sign_in(app, pool) -> AsyncIterator[Callable[..., Awaitable[httpx.AsyncClient]]]:  # type: ignore[no-untyped-def]
    """Create an account with ``role`` (of ``community``, 幸福社区 unless given, acting for ``organisation`` if
    given) and return an HTTP client signed in as it."""
    from yishi.services.accounts import add_account

    clients: list[httpx.AsyncClient] = []

    async def signer(role: str, name: str | None = None, community: str | None = "幸福社区",
                     organisation: str | None = None) -> httpx.AsyncClient:
        name = name or f"{role}-{uuid.uuid4().hex[:6]}"
        await add_account(pool, name, role, PASSWORD, community=community, organisation=organisation)
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
        clients.append(c)
        form = form_fields((await c.get("/login")).text, "/login")
        response = await c.post("/login", data={**form, "name": name, "password": PASSWORD})
        assert response.status_code == 303, response.text
        return c

    yield signer
    for c in clients:
        await c.aclose()
