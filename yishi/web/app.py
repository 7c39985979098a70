"""The web app: resident forms, committee console, receipt check and a small JSON API.

A thin adapter: every request goes to the service layer (``yishi.services``); nothing here decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from activities.db import UNAVAILABLE_ERRORS, create_pool
from activities.eventstore import EventStore
from yishi import i18n
from yishi.services import link_runs
from yishi.services.link_issuing import BATCH
from yishi.services.voting import settle_heap
from yishi.settings import Settings, get_settings
from yishi.web.api import include_api
from yishi.web.bodylimit import install_body_limit
from yishi.web.middleware import install_middleware
from yishi.web.proxy import install_forwarded
from yishi.web.security import RateLimits

log = structlog.get_logger(__name__)


def _resume_logged(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:  # the database away at start: pressing again works
        log.warning("links.resume_failed", error=type(task.exception()).__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    i18n.configure(settings.languages, settings.locale_dirs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, max_size=settings.db_pool_max)
        app.state.pool = pool
        app.state.store = EventStore(pool, max_batch=settings.group_commit_max)
        settle_heap()  # modules, templates and settings live as long as the process (see settle_heap)
        # Runs of links a stop or a crash interrupted continue in the background (never on a GET).
        app.state.link_resume = asyncio.create_task(link_runs.resume_at_start(
            app.state.store, secret_key=app.state.secret_key, batch=getattr(app.state, "link_batch", BATCH),
            clock=lambda: app.state.clock() if hasattr(app.state, "clock") else datetime.now(UTC)),
            name="links:resume")
        app.state.link_resume.add_done_callback(_resume_logged)
        log.info("web.started")
        try:
            yield
        finally:
            app.state.link_resume.cancel()
            await asyncio.gather(app.state.link_resume, return_exceptions=True)
            await link_runs.stop_all()  # the runs of links are marked failed; the next start continues them
            await pool.close()

    app = FastAPI(title="Yishi 议事", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.secret_key = secret_key_for(settings)
    app.state.limits = RateLimits()
    # Pages and the stylesheet compressed (a phone on a slow network: the ballot page is ~5 KB gzipped).
    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    install_middleware(app)
    install_body_limit(app, idle=settings.body_idle_timeout_s, total=settings.body_total_timeout_s)
    install_forwarded(app, settings.trusted_proxies)  # outermost: everything inside sees the real client
    _install_pages(app)
    include_api(app)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        try:
            async with app.state.pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except UNAVAILABLE_ERRORS as exc:
            return JSONResponse({"ok": False, "database": str(exc)}, status_code=503)
        return JSONResponse({"ok": True})

    if settings.bench_noop:  # the HTTP ceiling `yishi bench ballots` compares ballots with

        async def bench_noop(request: Request) -> PlainTextResponse:
            return PlainTextResponse("ok")

        # A plain route, like the ballot POST: the ceiling is the server and its middleware, nothing else.
        app.add_route("/_bench/noop", bench_noop, methods=["GET"], include_in_schema=False)

    return app


class CachedStaticFiles(StaticFiles):
    """Static files a browser may keep: a year when asked for by content digest (``?v=``, render.css_url), an hour
    otherwise (a page that names the file without it)."""

    async def get_response(self, path: str, scope: Any) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            versioned = b"v=" in scope.get("query_string", b"")
            response.headers["Cache-Control"] = ("public, max-age=31536000, immutable" if versioned
                                                 else "public, max-age=3600")
        return response


def secret_key_for(settings: Settings) -> str:
    key = settings.secret_key.get_secret_value()
    if key:
        return key
    from yishi.up import ensure_secret_key  # `yishi web` run by hand: the key `yishi up` would use

    return ensure_secret_key(settings, settings.data_dir)


def _install_pages(app: FastAPI) -> None:
    from yishi.web import (
        appraisal,
        appraisal_page,
        checkin,
        console,
        console_account,
        console_appraisal_open,
        console_appraisals,
        console_audit,
        console_channels,
        console_companies,
        console_company_register,
        console_complaint,
        console_deliveries,
        console_figures,
        console_links,
        console_meeting_acts,
        console_meetings,
        console_paper,
        console_periods,
        console_points,
        console_points_admin,
        console_postings,
        console_revoke,
        console_start,
        console_topics,
        console_volunteers,
        follow_up,
        inbox,
        joint,
        ladder,
        matters,
        meeting_pages,
        owner_sms,
        person,
        person_extras,
        plan_documents,
        public,
        public_points,
        public_result,
        resident,
        shop,
        structure,
        structure_import,
        team,
        topic_owner,
        topic_pages,
        topic_public,
    )
    from yishi.web.render import form_invalid_page, not_found_page

    app.include_router(resident.router)
    app.include_router(person.router)
    app.include_router(person_extras.router)
    app.include_router(shop.router)
    app.include_router(team.router)
    app.include_router(checkin.router)
    app.include_router(console_points.router)
    app.include_router(console_points_admin.router)
    app.include_router(console_appraisals.router)
    app.include_router(console_appraisal_open.router)
    app.include_router(console_companies.router)
    app.include_router(console_revoke.router)
    app.include_router(console_company_register.router)
    app.include_router(console_volunteers.router)
    app.include_router(appraisal_page.router)
    app.include_router(public.router)
    app.include_router(public_result.router)
    app.include_router(public_points.router)
    app.include_router(console.router)
    app.include_router(console_paper.router)
    app.include_router(matters.router)
    app.include_router(console_complaint.router)
    app.include_router(owner_sms.router)
    app.include_router(inbox.router)
    app.include_router(structure_import.router)  # before structure's /console/structure/{community}
    app.include_router(structure.router)
    app.include_router(ladder.router)
    app.include_router(joint.router)
    app.include_router(appraisal.router)
    app.include_router(follow_up.router)
    app.include_router(console_links.router)
    app.include_router(console_periods.router)
    app.include_router(console_start.router)
    app.include_router(console_audit.router)
    app.include_router(console_account.router)
    app.include_router(topic_pages.router)
    app.include_router(topic_owner.router)
    app.include_router(topic_public.router)
    app.include_router(console_figures.router)  # before console_topics: /console/topics/figures is not a topic id
    app.include_router(console_topics.router)
    assert console_meeting_acts.router is console_meetings.router  # the acts are routes of the meetings' router
    app.include_router(console_meetings.router)
    app.include_router(meeting_pages.router)
    app.include_router(console_channels.router)
    app.include_router(console_deliveries.router)
    app.include_router(console_postings.router)
    app.include_router(plan_documents.router)
    static = resources.files("yishi.web") / "static"
    app.mount("/static", CachedStaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse("/receipt", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        return form_invalid_page(request, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return not_found_page(request)
        if exc.status_code == 405:
            return form_invalid_page(request, 405)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
