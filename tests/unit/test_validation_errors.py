from typing import Any

import pytest
from pydantic import ValidationError

from handler.core.errors import (
    AuthenticationFailed,
    BackendError,
    InvalidRequest,
    ModelNotFound,
    PayloadTooLarge,
    StorageError,
    status_of,
)
from handler.core.schemas import GenerationRequest
from handler.core.validation import invalid_request


def _describe(body: Any) -> tuple[str | None, str | None]:
    with pytest.raises(ValidationError) as caught:
        GenerationRequest.model_validate(body)
    error = invalid_request(caught.value.errors())
    assert error.type == "invalid_request_error"
    return error.param, error.code


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({}, "prompt", "missing_required_parameter"),
        ({"prompt": 3}, "prompt", "invalid_type"),
        ({"prompt": "x", "n": "2"}, "n", "invalid_type"),
        ({"prompt": "x", "n": 2.5}, "n", "invalid_type"),
        ({"prompt": "x", "n": True}, "n", "invalid_type"),
        ({"prompt": "x", "n": 0}, "n", "invalid_value"),
        ({"prompt": "x", "size": 1024}, "size", "invalid_type"),
        ({"prompt": "x", "response_format": "jpg"}, "response_format", "invalid_value"),
        ({"prompt": "x", "output_format": "gif"}, "output_format", "invalid_value"),
        ({"prompt": "x", "output_compression": 101}, "output_compression", "invalid_value"),
        ({"prompt": "x", "seed": -1}, "seed", "invalid_value"),
        ({"prompt": "x", "seed": 2**32}, "seed", "invalid_value"),
        ({"prompt": "x", "guidance_scale": "high"}, "guidance_scale", "invalid_type"),
        ({"prompt": "x", "negative_promt": "typo"}, "negative_promt", "unknown_parameter"),
    ],
)
def test_body_problems_name_their_parameter(body: Any, param: str, code: str) -> None:
    assert _describe(body) == (param, code)


def test_a_body_that_is_not_an_object_names_no_parameter() -> None:
    assert _describe(["prompt"]) == (None, "invalid_body")


def test_invalid_json_is_its_own_code() -> None:
    error = invalid_request([{"type": "json_invalid", "loc": ("body", 12), "msg": ""}])
    assert (error.param, error.code) == (None, "invalid_json")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidRequest("x"), 400),
        (PayloadTooLarge("x"), 413),
        (AuthenticationFailed("x"), 401),
        (ModelNotFound("m"), 404),
        (StorageError("x"), 500),
        (BackendError("x"), 502),
    ],
)
def test_status_mapping(error: Exception, status: int) -> None:
    assert status_of(error) == status  # type: ignore[arg-type]
