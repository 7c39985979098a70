"""The web app: resident forms, committee console, receipt check and a small JSON API.

A thin adapter: every request goes to the service layer (``yishi.services``); nothing here decides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from activities.db import UNAVAILABLE_ERRORS, create_pool
from activities.eventstore import EventStore
from yishi.settings import Settings, get_settings
from yishi.web.middleware import install_middleware

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, max_size=settings.db_pool_max)
        app.state.pool = pool
        app.state.store = EventStore(pool, max_batch=settings.group_commit_max)
        log.info("web.started")
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(title="Yishi 议事", lifespan=lifespan)
    app.state.settings = settings
    install_middleware(app)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        try:
            async with app.state.pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except UNAVAILABLE_ERRORS as exc:
            return JSONResponse({"ok": False, "database": str(exc)}, status_code=503)
        return JSONResponse({"ok": True})

    return app
