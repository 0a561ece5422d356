"""Amazon Bedrock Guardrails' ``ApplyGuardrail`` (``POST /guardrail/{id}/version/{v}/apply``)
as the local stand-in answers it, on AWS's documented wire format (``FULL`` output scope: every
content filter with its confidence). It reads the text and, in an image, what the image says
of itself (the preview backend writes its prompt and seed in its metadata: PNG's Description,
EXIF's ImageDescription). Markers choose what it finds:

    [unsafe]            text: VIOLENCE, high confidence; the guardrail blocks it
    [edgy]              text: VIOLENCE, medium confidence; the guardrail lets it through
    [weapons]           text: the denied topic "Weapons"; blocked
    [unsafe-image]      an image: SEXUAL, high confidence; blocked
    [unsafe-odd]        an image whose seed is odd: as [unsafe-image]
"""

import base64
import io
import re
from typing import Any

from PIL import Image

PATH = re.compile(r"/guardrail/(?P<id>[^/]+)/version/(?P<version>[^/]+)/apply")
FILTERS = ("HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT")
_SEED = re.compile(r"\| seed (\d+)$")


class GuardrailRefusal(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def apply(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("source") not in ("INPUT", "OUTPUT") or not body.get("content"):
        raise GuardrailRefusal(400, "ValidationException", "source and content are required")
    found: dict[str, tuple[str, bool]] = {}  # filter -> (confidence, blocked)
    topics: list[dict[str, Any]] = []
    images = 0
    for block in body["content"]:
        if "text" in block:
            text = block["text"]["text"]
            if "[unsafe]" in text:
                found["VIOLENCE"] = ("HIGH", True)
            elif "[edgy]" in text:
                found.setdefault("VIOLENCE", ("MEDIUM", False))
            if "[weapons]" in text:
                topics.append(
                    {"name": "Weapons", "type": "DENY", "action": "BLOCKED", "detected": True}
                )
        elif "image" in block:
            images += 1
            said = _description(block["image"])
            seed = _SEED.search(said)
            odd = seed is not None and int(seed[1]) % 2 == 1
            if "[unsafe-image]" in said or ("[unsafe-odd]" in said and odd):
                found["SEXUAL"] = ("HIGH", True)
    filters = [
        {
            "type": name,
            "confidence": found.get(name, ("NONE", False))[0],
            "filterStrength": "HIGH",
            "action": "BLOCKED" if found.get(name, ("NONE", False))[1] else "NONE",
            "detected": name in found,
        }
        for name in FILTERS
    ]
    blocked = any(f["action"] == "BLOCKED" for f in filters) or bool(topics)
    assessment: dict[str, Any] = {"contentPolicy": {"filters": filters}}
    if topics:
        assessment["topicPolicy"] = {"topics": topics}
    return {
        "usage": {
            "topicPolicyUnits": 1,
            "contentPolicyUnits": 1,
            "wordPolicyUnits": 0,
            "sensitiveInformationPolicyUnits": 0,
            "sensitiveInformationPolicyFreeUnits": 0,
            "contextualGroundingPolicyUnits": 0,
            "contentPolicyImageUnits": images,
        },
        "action": "GUARDRAIL_INTERVENED" if blocked else "NONE",
        "outputs": [{"text": "Sorry, this content is not allowed."}] if blocked else [],
        "assessments": [assessment],
    }


def _description(image: dict[str, Any]) -> str:
    if image.get("format") not in ("png", "jpeg"):
        raise GuardrailRefusal(400, "ValidationException", "image format must be png or jpeg")
    data = base64.b64decode(image["source"]["bytes"])
    with Image.open(io.BytesIO(data)) as opened:
        if opened.format != image["format"].upper():
            raise GuardrailRefusal(400, "ValidationException", "the image is not its format")
        return str(opened.info.get("Description") or opened.getexif().get(0x010E) or "")
