"""``bedrock-runtime`` errors in the project's terms.

Content filters answer in two ways: Stability's models with a ``finish_reasons`` entry in a
200 (``stability.py``), Amazon's with a ``ValidationException`` saying the request was
"blocked by our content filters" (or fewer images and an ``error`` field), so ``filtered()``
tells that apart from a bad request."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
)

from handler.aws.errors import error_code
from handler.backends.bedrock.grants import Target
from handler.core.errors import (
    BackendError,
    BackendNotConfigured,
    BackendRefused,
    BackendTimeout,
    BackendUnavailable,
    InvalidRequest,
    Outcome,
)

_FILTERED = ("blocked by our content filters", "responsible ai")
_POINTER = re.compile(r"#(?:/[A-Za-z_][A-Za-z0-9_]*)+")
# Where a ValidationException names a field, the request parameter it came from.
_PARAMS = (
    ("negativetext", "negative_prompt"),
    ("negative_prompt", "negative_prompt"),
    ("maskimage", "mask"),
    ("similaritystrength", "strength"),
    ("strength", "strength"),
    ("cfgscale", "guidance_scale"),
    ("seed", "seed"),
    ("width", "size"),
    ("height", "size"),
    ("aspect_ratio", "size"),
    ("images", "image"),
    ("image", "image"),
    ("text", "prompt"),
    ("prompt", "prompt"),
)
# Answers that mean the model cannot be used here at all: no need to ask again for a while.
UNUSABLE = frozenset({"AccessDeniedException", "ResourceNotFoundException"})


class Filtered(Outcome):
    """Bedrock's content filters removed this image (or refused its request)."""


class ModelTimedOut(BackendError):
    """Bedrock ended one invocation at the model's own limit: that image is lost, the others
    are not (unlike the request's deadline, which ends them all)."""

    default_code = "backend_timeout"


def first(answer: Any, field: str) -> Any:
    """The first of a list field of Bedrock's answer (or the field itself, if it is not a
    list); None when there is none. ``answer`` that is not an object is the backend's error."""
    if not isinstance(answer, dict):
        raise BackendError("Bedrock answered something that is not an object.")
    value = answer.get(field)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def filtered(message: str | None) -> bool:
    return message is not None and any(words in message.lower() for words in _FILTERED)


@contextmanager
def invocation_errors(target: Target) -> Iterator[None]:
    """What botocore raises calling ``InvokeModel``, as the project's errors (``Filtered``
    for a content filter's refusal)."""
    try:
        yield
    except ReadTimeoutError as exc:
        raise too_late() from exc
    except (ConnectTimeoutError, ConnectionError) as exc:  # nothing reached Bedrock
        raise BackendUnavailable("Could not reach Amazon Bedrock; retry shortly.") from exc
    except ClientError as exc:
        raise translate(exc, target) from exc
    except BotoCoreError as exc:
        raise BackendError("Could not reach Amazon Bedrock.") from exc


def translate(exc: ClientError, target: Target) -> Exception:
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", ""))
    where = f"{target.model_id} in {target.region}"
    if code == "ThrottlingException":
        return BackendUnavailable("Bedrock is throttling this model; retry shortly.", retry_after=2)
    if code == "ServiceQuotaExceededException":
        return BackendUnavailable(
            "This account's Bedrock quota for the model is spent for now; retry shortly.",
            retry_after=10,
        )
    if code == "ModelNotReadyException":
        return BackendUnavailable("The model is not ready yet; retry shortly.", retry_after=10)
    if code in ("ServiceUnavailableException", "InternalServerException"):
        return BackendUnavailable("Amazon Bedrock is unavailable; retry shortly.", retry_after=5)
    if code == "AccessDeniedException":
        return BackendNotConfigured(
            f"This deployment may not invoke {where}: enable access to the model for this "
            "account in that region (Bedrock console, Model access), and list its ARN in the "
            "stack's BedrockModelArns parameter."
        )
    if code == "ResourceNotFoundException":
        return BackendNotConfigured(
            f"Bedrock has no model {where} (retired, or not offered there): {message}"
        )
    if code == "ModelTimeoutException":
        return ModelTimedOut("The model took longer than Bedrock allows; nothing was charged.")
    if code == "ModelErrorException":
        return BackendError(f"The model failed on Bedrock: {message}")
    if code == "ValidationException":
        return _invalid(message, where)
    return BackendError(f"Bedrock error {code}: {message}")


def _invalid(message: str, where: str) -> Exception:
    if filtered(message):
        return Filtered(message)
    if "on-demand throughput" in message:
        return BackendNotConfigured(
            f"{where} is invoked only through an inference profile: list the profile's ARN "
            "in the stack's BedrockModelArns parameter."
        )
    # Bedrock names a field by its JSON pointer ("#/textToImageParams/text: expected ...").
    named = {pointer.rsplit("/", 1)[-1].lower() for pointer in _POINTER.findall(message)}
    for field, param in _PARAMS:
        if field in named:
            return InvalidRequest(f"Bedrock refused {param}: {message}", param=param)
    return BackendRefused(f"Bedrock refused the request for {where}: {message}")


def too_late() -> BackendTimeout:
    return BackendTimeout(
        "The image was not ready before the request's deadline and nothing was charged. "
        "Bedrock cannot cancel an invocation: the model may still finish it."
    )
