"""The one place that turns exceptions into HTTP responses, all in OpenAI's error envelope."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from handler.core.errors import ApiError, status_of
from handler.core.validation import invalid_request
from handler.observability import logger


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    error: ErrorBody


# Stated here, not left to FastAPI, which takes Python's reason phrases: they follow the RFC of
# Python's version (413 is "Content Too Large" from 3.13, RFC 9110), and the checked-in
# document is the same whichever Python writes it.
_STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text} for status, text in _STATUS_TEXT.items()
}


def _envelope(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ErrorResponse(error=body).model_dump(), status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    status = status_of(exc)
    log = logger.warning if status < 500 else logger.error
    log(
        "request failed",
        status=status,
        error_type=exc.type,
        code=exc.code,
        param=exc.param,
        cause=repr(exc.__cause__) if exc.__cause__ else None,
    )
    headers = {}
    if exc.should_retry is not None:
        headers["x-should-retry"] = "true" if exc.should_retry else "false"
    if exc.retry_after is not None:
        headers["retry-after"] = str(exc.retry_after)
    body = ErrorBody(message=exc.message, type=exc.type, param=exc.param, code=exc.code)
    return _envelope(status, body, headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return await _api_error(request, invalid_request(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = f"Invalid URL ({request.method} {request.url.path}){_base_url_hint(request)}"
        body = ErrorBody(
            message=message, type="invalid_request_error", param=None, code="unknown_url"
        )
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
        body = ErrorBody(
            message=message, type="invalid_request_error", param=None, code="method_not_allowed"
        )
    else:
        body = ErrorBody(
            message=str(exc.detail), type="invalid_request_error", param=None, code=None
        )
    return _envelope(exc.status_code, body, dict(exc.headers or {}))


def _base_url_hint(request: Request) -> str:
    """Where a client's base URL lacks ``/v1`` (``…/prod`` for ``…/prod/v1``), what it meant."""
    root = request.scope.get("root_path", "")
    route = request.scope["path"].removeprefix(root)
    if route.startswith("/v1/"):
        return ""
    meant = {"type": "http", "path": f"/v1{route}", "root_path": "", "method": request.method}
    if not any(r.matches(meant)[0] != Match.NONE for r in request.app.router.routes):
        return ""
    base_url = str(request.base_url).rstrip("/")
    return f": the base URL ends in /v1 ({base_url}/v1), so this is {base_url}/v1{route}"


def unexpected_error_response() -> JSONResponse:
    """A bug, not a condition: retrying will not help, and may pay for the work again."""
    body = ErrorBody(
        message="The server had an error while processing your request.",
        type="server_error",
        param=None,
        code=None,
    )
    return _envelope(500, body, {"x-should-retry": "false"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    generate_openapi = app.openapi

    def openapi_without_422() -> dict[str, Any]:
        """FastAPI documents a 422 {"detail"} on every route; this API answers 400 instead."""
        if app.openapi_schema is None:
            schema = generate_openapi()
            for path in schema["paths"].values():
                for operation in path.values():
                    operation["responses"].pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema["components"]["schemas"].pop(name, None)
        return app.openapi_schema or generate_openapi()

    app.openapi = openapi_without_422  # type: ignore[method-assign]
