"""What a guardrail's findings mean for a request under its account's policy, and how an
``ApplyGuardrail`` answer is read."""

import pytest

from handler.backends.guardrails import findings
from handler.core.moderation import judged
from handler.core.records.moderation import Finding, Level, ModerationPolicy

STRICT = ModerationPolicy({"violence": "high", "sexual": "medium"})


def test_what_the_guardrail_blocks_is_blocked_whatever_the_account_says() -> None:
    found = [Finding("hate", "low", False), Finding("insults", "medium", True)]
    verdict = judged("prompt", found, ModerationPolicy(), low=True)
    assert (verdict.action, verdict.category, verdict.confidence) == (
        "blocked",
        "insults",
        "medium",
    )


@pytest.mark.parametrize(
    ("category", "confidence", "action"),
    [
        ("violence", "low", "blocked"),  # high strength: from low confidence up
        ("sexual", "low", "allowed"),  # medium strength: from medium up
        ("sexual", "medium", "blocked"),
        ("hate", "high", "allowed"),  # no strength of the account's: the guardrail's alone
        ("violence", "none", "allowed"),
    ],
)
def test_an_accounts_strengths_block_what_the_guardrail_lets_through(
    category: str, confidence: Level, action: str
) -> None:
    verdict = judged("output", [Finding(category, confidence, False)], STRICT, index=1)
    assert (verdict.action, verdict.index) == (action, 1)


def test_moderation_low_leaves_the_guardrail_alone_and_says_what_it_saw() -> None:
    verdict = judged("prompt", [Finding("violence", "medium", False)], STRICT, low=True)
    assert (verdict.action, verdict.category, verdict.confidence) == (
        "allowed",
        "violence",
        "medium",
    )
    clean = judged("prompt", [Finding("violence", "none", False)], STRICT)
    assert (clean.action, clean.category) == ("allowed", None)


def test_an_apply_guardrail_answer_reads_as_findings() -> None:
    # The shape of ApplyGuardrail's response (FULL output scope), as AWS documents it
    answer = {
        "action": "GUARDRAIL_INTERVENED",
        "outputs": [{"text": "Sorry."}],
        "usage": {},
        "assessments": [
            {
                "contentPolicy": {
                    "filters": [
                        {
                            "type": "VIOLENCE",
                            "confidence": "MEDIUM",
                            "filterStrength": "HIGH",
                            "action": "BLOCKED",
                            "detected": True,
                        },
                        {
                            "type": "HATE",
                            "confidence": "NONE",
                            "filterStrength": "HIGH",
                            "action": "NONE",
                            "detected": False,
                        },
                    ]
                },
                "topicPolicy": {
                    "topics": [
                        {"name": "Weapons", "type": "DENY", "action": "BLOCKED", "detected": True}
                    ]
                },
                "wordPolicy": {"customWords": [{"match": "x", "action": "BLOCKED"}]},
            }
        ],
    }
    assert findings(answer) == [
        Finding("violence", "medium", True),
        Finding("hate", "none", False),
        Finding("topic:Weapons", "high", True),
        Finding("words", "high", True),
    ]


def test_an_intervention_with_no_finding_still_blocks() -> None:
    answer = {
        "action": "GUARDRAIL_INTERVENED",
        "actionReason": "automated reasoning",
        "assessments": [],
        "outputs": [],
        "usage": {},
    }
    assert [f.blocked for f in findings(answer)] == [True]


def test_an_accounts_policy_is_read_once_per_instance_until_it_may_have_changed() -> None:
    from handler.generation.moderating import POLICY_SECONDS, Moderation

    reads: list[str] = []
    now = [1000.0]

    class Policies:
        def policy(self, account_id: str) -> ModerationPolicy | None:
            reads.append(account_id)
            return STRICT

    moderation = Moderation(
        guardrail=None,  # type: ignore[arg-type]
        accounts=Policies(),  # type: ignore[arg-type]
        suspensions=None,  # type: ignore[arg-type]
        keys=None,  # type: ignore[arg-type]
        charging=None,  # type: ignore[arg-type]
        clock=lambda: now[0],
    )
    assert moderation._policy("a") is STRICT
    now[0] += POLICY_SECONDS - 1
    assert moderation._policy("a") is STRICT
    assert reads == ["a"]
    now[0] += 1
    moderation._policy("a")
    assert reads == ["a", "a"]


def test_an_image_goes_to_the_guardrail_in_a_format_and_size_it_reads() -> None:
    import io
    import os

    from PIL import Image

    from handler.backends.guardrails import MAX_IMAGE_BYTES, _image_block

    def encoded(image: Image.Image, kind: str) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=kind)
        return buffer.getvalue()

    small = Image.new("RGB", (64, 64), (10, 20, 30))
    assert _image_block(encoded(small, "PNG"))["format"] == "png"
    assert _image_block(encoded(small, "JPEG"))["format"] == "jpeg"
    webp = _image_block(encoded(small, "WEBP"))
    assert webp["format"] == "png"
    assert webp["source"]["bytes"].startswith(b"\x89PNG")
    noise = Image.frombytes("RGB", (1200, 1200), os.urandom(1200 * 1200 * 3))
    large = encoded(noise, "PNG")
    assert len(large) > MAX_IMAGE_BYTES
    checked = _image_block(large)
    assert checked["format"] == "jpeg"
    assert len(checked["source"]["bytes"]) <= MAX_IMAGE_BYTES
