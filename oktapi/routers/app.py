"""The dashboard for people at /app: one HTML page, its JS modules and CSS, all served from here.

The page is static: everything it shows comes from the API routes with the user's bearer token,
so it sees exactly what that user may see. `GET /` sends browsers to it.
"""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
APP_PATH = "/app"
STATIC_PATH = "/app/static"

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse(APP_PATH, status_code=307)


@router.get(APP_PATH)
def dashboard() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html; charset=utf-8")


def static_files() -> StaticFiles:
    """The dashboard's scripts, styles and vendored Chart.js (oktapi/web/static)."""
    return StaticFiles(directory=WEB_DIR / "static")
