"""The application factory: settings, storage, middleware, docs and routers wired once."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from oktapi import __version__
from oktapi.errors import install_error_handlers
from oktapi.middleware import (
    BodyLimitMiddleware,
    KeepConnectionAfterErrors,
    SecurityHeadersMiddleware,
    body_limit_for,
)
from oktapi.routers import ROUTERS
from oktapi.routers import app as dashboard
from oktapi.services.retention import prepare_storage, sweep_periodically
from oktapi.settings import Settings
from oktapi.storage import open_storage

DESCRIPTION = """Split a paid-media budget among campaigns, timestep by timestep.

Log in with the **Authorize** button (username and password), then create a client, its
campaigns and a plan; post each timestep's results to get the next allocation."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; storage opens on start-up and closes on shutdown."""
    settings = settings or Settings()
    logging.basicConfig(level=settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        storage = open_storage(settings)
        sweeper = None
        try:
            prepare_storage(storage, settings)
            if not storage.expires_documents:
                sweeper = asyncio.create_task(sweep_periodically(storage.db, settings))
            app.state.storage = storage
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            storage.close()

    app = FastAPIOffline(
        title="Oktopus",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/api",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_ui_parameters={"persistAuthorization": True},
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount(dashboard.STATIC_PATH, dashboard.static_files(), name="dashboard-static")
    # The last one added runs first: CORS wraps the body limit so an allowed origin can read
    # its 413. Security headers wrap the whole stack, outside Starlette's ServerErrorMiddleware,
    # so 413s, CORS preflights and even an unexpected 500 carry them; outermost, the error that
    # ServerErrorMiddleware re-raises after its 500 is logged so the connection stays usable.
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit_for)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: KeepConnectionAfterErrors(  # type: ignore[method-assign]
        SecurityHeadersMiddleware(build_stack())
    )
    return app
