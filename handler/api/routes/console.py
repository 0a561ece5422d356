"""The console: a page for key holders, served by the API itself under the stage
(``…/<stage>/console/``), from files shipped in the artifact (no CDN: it works offline).

It signs in with a key kept in the tab's ``sessionStorage`` and sent as the bearer header of
its calls to the API beside it; no route here reads a key. Text files travel through API
Gateway as UTF-8; images are base64, which API Gateway turns back into bytes for a browser
because the template lists ``image/*`` as binary (browsers ask for images first).
"""

from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Response
from fastapi.responses import RedirectResponse

from handler.config import local_s3_endpoint
from handler.core.errors import NotFound

router = APIRouter(include_in_schema=False)
CONSOLE = Path(__file__).resolve().parents[2] / "console"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
}


@cache
def files() -> dict[str, tuple[bytes, str]]:
    """Every file the console serves, by its path under ``console/``: read once."""
    return {
        path.relative_to(CONSOLE).as_posix(): (path.read_bytes(), TYPES[path.suffix])
        for path in CONSOLE.rglob("*")
        if path.suffix in TYPES
    }


def security_headers() -> dict[str, str]:
    """The page runs only its own scripts, talks only to its own API, shows images from the
    bucket's presigned URLs, and is never framed."""
    images = "'self' data: https:"
    local_s3 = local_s3_endpoint()
    if local_s3:
        parts = urlsplit(local_s3)
        images += f" {parts.scheme}://{parts.netloc}"
    return {
        "content-security-policy": (
            f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; "
            "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "no-cache",
    }


@router.get("/console")
def console_root() -> Response:
    # Relative, so the stage (or base path) in front stays: /prod/console -> /prod/console/
    return RedirectResponse("console/", status_code=308)


@router.get("/console/")
def console_page() -> Response:
    return console_file("index.html")


@router.get("/console/{name:path}")
def console_file(name: str) -> Response:
    found = files().get(name)
    if found is None:
        raise NotFound(f"The console has no file '{name}'.", code="not_found")
    body, media_type = found
    return Response(body, media_type=media_type, headers=security_headers())
