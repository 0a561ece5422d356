"""Multipart forms read within limits whose refusals name the part at fault.

Starlette's own limits answer a bare 400 with a message and no code or field; this parser
counts files, fields and text bytes itself, per part, and refuses with
``InvalidRequest(code=..., param=<the part's name>)``.
"""

from email.message import Message

from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from handler.core.errors import InvalidRequest

# Parts a route may take: the files, and the text fields besides.
MAX_TEXT_PART_BYTES = 256 * 1024  # a 32,000-character prompt in any script fits


class _Refused(MultiPartException):
    """Carries the refusal through the parser, which closes its spooled files on the way."""

    def __init__(self, error: InvalidRequest):
        super().__init__(error.message)
        self.error = error


class _LimitedParser(MultiPartParser):
    def __init__(self, request: Request, *, max_files: int, max_fields: int):
        # Starlette's limits out of the way (the body's own size bounds the work): ours below.
        super().__init__(
            request.headers,
            request.stream(),
            max_files=max_files + 1,
            max_fields=max_fields + 1,
            max_part_size=2**62,
        )
        self._limits = (max_files, max_fields)
        self._files = 0
        self._fields = 0
        self._text_bytes = 0

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        part = self._current_part
        name = part.field_name or None
        max_files, max_fields = self._limits
        if part.file is not None:
            self._files += 1
            if self._files > max_files:
                raise _Refused(
                    InvalidRequest(
                        f"A form may hold at most {max_files} files.",
                        param=name,
                        code="too_many_files",
                    )
                )
        else:
            self._fields += 1
            self._text_bytes = 0
            if self._fields > max_fields:
                raise _Refused(
                    InvalidRequest(
                        f"A form may hold at most {max_fields} text fields.",
                        param=name,
                        code="too_many_fields",
                    )
                )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current_part.file is None:
            self._text_bytes += end - start
            if self._text_bytes > MAX_TEXT_PART_BYTES:
                raise _Refused(
                    InvalidRequest(
                        f"{self._current_part.field_name} is over "
                        f"{MAX_TEXT_PART_BYTES // 1024} KB.",
                        param=self._current_part.field_name or None,
                        code="field_too_large",
                    )
                )
        super().on_part_data(data, start, end)


async def read_multipart(request: Request, *, max_files: int, max_fields: int) -> FormData:
    """The request's multipart form; the caller closes it (``await form.close()``)."""
    content_type = Message()
    content_type["content-type"] = request.headers.get("content-type", "")
    charset = content_type.get_param("charset")
    if isinstance(charset, str) and charset.lower() not in ("utf-8", "utf8"):
        # Part names and text in another charset can decode to what is not text.
        raise InvalidRequest(
            f"A multipart form must be UTF-8, not {charset}.", code="invalid_multipart"
        )
    try:
        return await _LimitedParser(request, max_files=max_files, max_fields=max_fields).parse()
    except _Refused as exc:
        raise exc.error from None
    except MultiPartException as exc:  # the form itself is broken (no boundary, no name)
        raise InvalidRequest(
            f"The multipart form could not be read: {exc.message}", code="invalid_multipart"
        ) from None
