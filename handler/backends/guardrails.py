"""Amazon Bedrock Guardrails' ``ApplyGuardrail`` as moderation's guardrail: a prompt and its
input images, or one image made, assessed by the operator's guardrail in the operator's
account, whatever backend runs the model.

It asks for the ``FULL`` output scope, so every content filter answers with its confidence,
not only those that blocked: an account's policy may be stricter than the guardrail's own
strengths (``core/moderation.py``). Images go as PNG or JPEG, the formats it reads, within its
size limit (``_image_block``)."""

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.clients import invocation_client
from handler.aws.errors import error_code
from handler.core.errors import BackendUnavailable, ServiceError
from handler.core.records.moderation import LEVELS, Finding, Level

READ_SECONDS = 10
MAX_IMAGE_BYTES = 3_750_000  # kept under ApplyGuardrail's 4 MB an image
_BUSY = {"ThrottlingException", "ServiceUnavailableException", "ServiceQuotaExceededException"}


class BedrockGuardrail:
    def __init__(self, identifier: str, version: str, region: str | None = None):
        self.identifier, self.version, self.region = identifier, version, region
        self._client: Any = None

    def assess(
        self, source: Literal["INPUT", "OUTPUT"], text: str | None, images: Sequence[bytes]
    ) -> list[Finding]:
        content: list[dict[str, Any]] = [{"text": {"text": text}}] if text else []
        content += [{"image": _image_block(data)} for data in images]
        with _guardrail_errors():
            answer = self._runtime().apply_guardrail(
                guardrailIdentifier=self.identifier,
                guardrailVersion=self.version,
                source=source,
                content=content,
                outputScope="FULL",
            )
        return findings(answer)

    def _runtime(self) -> Any:
        if self._client is None:
            self._client = invocation_client("bedrock-runtime", READ_SECONDS, self.region)
        return self._client


def findings(answer: dict[str, Any]) -> list[Finding]:
    """Each filter's and denied topic's finding in an ``ApplyGuardrail`` answer."""
    found = []
    for assessment in answer.get("assessments", []):
        for item in assessment.get("contentPolicy", {}).get("filters", []):
            confidence: Level = item["confidence"].lower()
            if confidence in LEVELS:
                blocked = item["action"] == "BLOCKED"
                found.append(Finding(item["type"].lower(), confidence, blocked))
        for topic in assessment.get("topicPolicy", {}).get("topics", []):
            if topic["action"] == "BLOCKED" or topic.get("detected"):
                found.append(
                    Finding(f"topic:{topic['name']}", "high", topic["action"] == "BLOCKED")
                )
        words = assessment.get("wordPolicy", {})
        for word in (*words.get("customWords", []), *words.get("managedWordLists", [])):
            if word["action"] == "BLOCKED":
                found.append(Finding("words", "high", True))
    if answer.get("action") == "GUARDRAIL_INTERVENED" and not any(f.blocked for f in found):
        found.append(Finding(answer.get("actionReason") or "guardrail", "high", True))
    return found


def _image_block(data: bytes) -> dict[str, Any]:
    """``data`` as ApplyGuardrail reads an image: PNG or JPEG as it is, when small enough;
    another format (WebP) as PNG, and one over its size limit as a JPEG, for the check alone."""
    if len(data) <= MAX_IMAGE_BYTES and data.startswith(b"\x89PNG"):
        return {"format": "png", "source": {"bytes": data}}
    if len(data) <= MAX_IMAGE_BYTES and data.startswith(b"\xff\xd8"):
        return {"format": "jpeg", "source": {"bytes": data}}
    from PIL import Image  # only for an image the guardrail cannot read as it is

    converted = io.BytesIO()
    with Image.open(io.BytesIO(data)) as image:
        if len(data) <= MAX_IMAGE_BYTES:
            image.save(converted, format="PNG")
            return {"format": "png", "source": {"bytes": converted.getvalue()}}
        image.convert("RGB").save(converted, format="JPEG", quality=90)
    return {"format": "jpeg", "source": {"bytes": converted.getvalue()}}


@contextmanager
def _guardrail_errors() -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        if code in _BUSY:
            raise BackendUnavailable(
                "Moderation is busy; try again shortly.", code="moderation_unavailable"
            ) from exc
        raise ServiceError(f"Moderation failed ({code}).", code="moderation_failed") from exc
    except BotoCoreError as exc:
        raise BackendUnavailable(
            "Moderation could not be reached; try again shortly.", code="moderation_unavailable"
        ) from exc
