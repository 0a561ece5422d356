"""Moderation as records: what a guardrail found in a prompt or an image, the policy an
account holds it to, and the verdict kept with the request (the rules are
``core/moderation.py``)."""

from dataclasses import dataclass, field
from typing import Literal

Level = Literal["none", "low", "medium", "high"]
LEVELS: tuple[Level, ...] = ("none", "low", "medium", "high")
# The guardrail's content filters, by the names the API and its policies use; a denied topic
# is "topic:<its name>".
CATEGORIES = ("hate", "insults", "sexual", "violence", "misconduct", "prompt_attack")
Subject = Literal["prompt", "output"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One of the guardrail's filters on one piece of content: how confident it is that the
    content is of its category, and whether the operator's guardrail itself blocks it."""

    category: str
    confidence: Level
    blocked: bool  # the operator's guardrail blocked it, whatever the account's policy


@dataclass(frozen=True, slots=True)
class Verdict:
    """What moderation decided of a request's prompt (with its input images) or of one of its
    output images, kept with the request."""

    subject: Subject
    action: Literal["allowed", "blocked"]
    category: str | None = None  # what blocked it, or the most confident finding
    confidence: Level | None = None
    index: int | None = None  # an output image's place in the request

    @property
    def blocked(self) -> bool:
        return self.action == "blocked"


@dataclass(frozen=True, slots=True)
class ModerationPolicy:
    """How strictly an account's requests are held, within the operator's guardrail (which
    blocks what it blocks whatever this says): per category, the strength of its filter —
    ``high`` blocks from low confidence up, ``medium`` from medium, ``low`` only high,
    ``none`` adds nothing to the guardrail's own. ``check_outputs``: False skips checking the
    images made (where the operator allows it)."""

    strengths: dict[str, Level] = field(default_factory=dict)
    check_outputs: bool = True
