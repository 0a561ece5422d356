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
