"""OpenAI-style wording for what pydantic found wrong with a request body.

The HTTP API and batch lines describe a bad body the same way: one ``InvalidRequest`` naming
the first parameter at fault.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from handler.core.errors import InvalidRequest


def is_text(value: str) -> bool:
    """Whether ``value`` can be encoded, hashed, logged and stored: JSON's ``\\ud800`` escapes
    decode to lone surrogates, which are valid JSON but not Unicode text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(value: str) -> str:
    if not is_text(value):
        raise PydanticCustomError(
            "text_not_unicode",
            "it holds a lone surrogate (an unpaired \\ud800-\\udfff escape), which is not text",
        )
    return value


# Every string a client sends that the service keeps, hashes or logs.
Text = Annotated[str, AfterValidator(_text)]


# Parameters OpenAI documents for its image models that no model here honours: a client that
# sends one hears it is not offered, not that it does not exist.
OPENAI_NOT_OFFERED = frozenset({"complexity"})


# Where FastAPI says it found a parameter, before its name: a client knows it by its name alone
# (`limit`, not `query.limit`).
_SOURCES = frozenset({"body", "query", "path"})


def invalid_request(errors: Sequence[Mapping[str, Any]]) -> InvalidRequest:
    """The first problem pydantic found, as the error the client sees."""
    first: Mapping[str, Any] = errors[0] if errors else {"type": "missing", "loc": ("body",)}
    kind, loc = str(first["type"]), tuple(first.get("loc", ()))
    if loc and loc[0] in _SOURCES:
        loc = loc[1:]
    param = _param_name(loc)
    if kind == "json_invalid":
        reason = (first.get("ctx") or {}).get("error")
        return InvalidRequest(
            "We could not parse the JSON body of your request"
            + (f" ({reason})" if reason else "")
            + ". Send a JSON object.",
            code="invalid_json",
        )
    if param is None:
        return InvalidRequest(
            "The request body must be a JSON object (Content-Type: application/json).",
            code="invalid_body",
        )
    if kind == "missing":
        message, code = f"Missing required parameter: '{param}'.", "missing_required_parameter"
    elif kind == "extra_forbidden" and param in OPENAI_NOT_OFFERED:
        message = f"{param} is an OpenAI parameter that is not offered by this model."
        code = "unsupported_parameter"
    elif kind == "extra_forbidden":
        message, code = f"Unrecognized request argument supplied: {param}", "unknown_parameter"
    elif kind.endswith("_type"):
        message = f"Invalid type for '{param}': {first['msg'].lower()}."
        code = "invalid_type"
    else:
        message, code = f"Invalid value for '{param}': {first['msg']}.", "invalid_value"
    return InvalidRequest(message, param=param, code=code)


# How pydantic names the member of a union it tried, in an error's location: not a field.
_UNION_MEMBER = re.compile(r"^(str|int|float|bool|list|dict)$|[\[(]")


def _param_name(loc: tuple[Any, ...]) -> str | None:
    name = ""
    for position, part in enumerate(loc):
        if position and isinstance(part, str) and _UNION_MEMBER.search(part):
            continue
        if isinstance(part, str) and not is_text(part):  # a key that is not text: its map
            break
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or None


# OpenAI's limits on a batch's metadata.
MAX_METADATA_ENTRIES = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 512


def check_metadata(metadata: Mapping[str, str]) -> None:
    """OpenAI's limits: 16 pairs, keys of 64 characters, values of 512."""
    if len(metadata) > MAX_METADATA_ENTRIES:
        raise InvalidRequest(
            f"metadata takes at most {MAX_METADATA_ENTRIES} entries.", param="metadata"
        )
    for name, value in metadata.items():
        if len(name) > MAX_METADATA_KEY_CHARS or len(value) > MAX_METADATA_VALUE_CHARS:
            raise InvalidRequest(
                f"metadata keys take at most {MAX_METADATA_KEY_CHARS} characters and values "
                f"{MAX_METADATA_VALUE_CHARS}.",
                param=f"metadata.{name[:MAX_METADATA_KEY_CHARS]}",
            )
