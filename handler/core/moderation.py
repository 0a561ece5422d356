"""The rules of moderation: what a guardrail's findings mean for one request under its
account's policy and the ``moderation`` it asked for (OpenAI's ``auto`` or ``low``).

The operator's guardrail is the floor: what it blocks is blocked for every account. An
account's policy may be stricter, category by category; ``moderation: "low"`` asks for the
floor alone, which the operator may allow or not."""

from collections.abc import Sequence

from handler.core.records.moderation import (
    LEVELS,
    Finding,
    Level,
    ModerationPolicy,
    Subject,
    Verdict,
)

# A filter of this strength blocks findings of this confidence and above.
_BLOCKS_FROM: dict[Level, int] = {"high": 1, "medium": 2, "low": 3, "none": len(LEVELS)}


def judged(
    subject: Subject,
    findings: Sequence[Finding],
    policy: ModerationPolicy,
    *,
    low: bool = False,
    index: int | None = None,
) -> Verdict:
    """The verdict on one piece of content: blocked by the first finding the guardrail
    blocked, else by the most confident one the account's policy blocks (none with ``low``)."""
    for finding in findings:
        if finding.blocked:
            return Verdict(subject, "blocked", finding.category, finding.confidence, index)
    if not low:
        strict = [f for f in findings if _level(f.confidence) >= _from(policy, f.category)]
        if strict:
            worst = max(strict, key=lambda f: _level(f.confidence))
            return Verdict(subject, "blocked", worst.category, worst.confidence, index)
    seen = [f for f in findings if f.confidence != "none"]
    if not seen:
        return Verdict(subject, "allowed", index=index)
    worst = max(seen, key=lambda f: _level(f.confidence))
    return Verdict(subject, "allowed", worst.category, worst.confidence, index)


def _level(confidence: Level) -> int:
    return LEVELS.index(confidence)


def _from(policy: ModerationPolicy, category: str) -> int:
    return _BLOCKS_FROM[policy.strengths.get(category, "none")]
