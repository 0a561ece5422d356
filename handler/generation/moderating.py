"""Moderation of a request in the operator's account, whatever backend runs it: its prompt
(with its input images) before anything is reserved, and each image made before it is kept
or answered (``Screen.sift``). The rules are ``core/moderation.py``; the guardrail is a port.

A blocked prompt is a 400 ``content_policy_violation`` naming the category, charged nothing,
and kept in the key's request list with its verdict. A blocked image is withheld and not
charged; the others of the request are delivered (none left: the same 400). Every blocked
request counts against its account, which is suspended each time the count reaches a
multiple of the operator's threshold (an audit entry says why)."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from handler.core.errors import ContentFiltered
from handler.core.inference import GeneratedImage
from handler.core.keys import account_of
from handler.core.moderation import judged
from handler.core.records.keys import Credentials, Payer
from handler.core.records.moderation import ModerationPolicy, Verdict
from handler.core.spec import GenerationSpec
from handler.keys.auth import authenticate
from handler.money.charging import Charging
from handler.observability import logger
from handler.ports.accounts import Accounts
from handler.ports.keys import KeyStore
from handler.ports.moderation import AccountModeration, Guardrail


@dataclass(frozen=True, slots=True)
class ModerationRules:
    """What the operator allows: the policy of accounts that have none of their own, whether
    a request may ask for ``moderation: "low"`` (the guardrail alone), whether an account may
    turn output checks off, and after how many blocked requests an account is suspended."""

    default: ModerationPolicy = field(default_factory=ModerationPolicy)
    low_allowed: bool = True
    outputs_optional: bool = False
    suspend_after: int = 0  # 0: never


@dataclass(frozen=True, slots=True)
class Moderation:
    guardrail: Guardrail
    accounts: AccountModeration
    suspensions: Accounts
    keys: KeyStore
    charging: Charging
    rules: ModerationRules = field(default_factory=ModerationRules)
    clock: Callable[[], float] = time.time

    def screen(self, payer: Payer, spec: GenerationSpec) -> "Screen":
        """Check the prompt and its input images; raises ContentFiltered if they are blocked.
        A presented key is checked first: a stranger's request costs no guardrail call."""
        if isinstance(payer, Credentials):
            authenticate(payer, self.keys, now=self.clock())
        account_id = account_of(payer.key_id)
        policy = self.accounts.policy(account_id) or self.rules.default
        low = spec.moderation == "low" and self.rules.low_allowed
        images = [image.data for image in spec.inputs.images]
        found = self.guardrail.assess("INPUT", spec.prompt, images)
        verdict = judged("prompt", found, policy, low=low)
        if verdict.blocked:
            self.charging.refused(payer.key_id, spec, verdict)
            self.violated(account_id, verdict, spec)
            subject = "prompt" if not images else "prompt or its images"
            raise ContentFiltered(
                f"The {subject} went against this service's content policy ({verdict.category}).",
                param="prompt",
            )
        outputs = policy.check_outputs or not self.rules.outputs_optional
        return Screen(self, account_id, policy, low, outputs, [verdict])

    def violated(self, account_id: str, verdict: Verdict, spec: GenerationSpec) -> None:
        count = self.accounts.count_violation(account_id)
        logger.warning(
            "content blocked",
            request_id=spec.request_id,
            subject=verdict.subject,
            category=verdict.category,
            violations=count,
        )
        every = self.rules.suspend_after
        if every and count % every == 0:
            reason = f"{count} requests blocked by the content policy (last: {verdict.category})"
            now = int(self.clock())
            self.suspensions.suspend(account_id, reason=reason, actor="imagegate", now=now)


@dataclass(slots=True)
class Screen:
    """A request whose prompt passed: how its images are held, and the verdicts so far (the
    list its settlement records)."""

    moderation: Moderation
    account_id: str
    policy: ModerationPolicy
    low: bool
    check_outputs: bool
    verdicts: list[Verdict]

    def sift(self, spec: GenerationSpec, images: list[GeneratedImage]) -> list[GeneratedImage]:
        """The images moderation lets through, each checked at once (concurrently)."""
        if not self.check_outputs or not images:
            return images
        guardrail = self.moderation.guardrail
        with ThreadPoolExecutor(max_workers=len(images)) as pool:
            found = list(
                pool.map(lambda image: guardrail.assess("OUTPUT", None, [image.data]), images)
            )
        verdicts = [
            judged("output", each, self.policy, low=self.low, index=index)
            for index, each in enumerate(found)
        ]
        self.verdicts.extend(verdicts)
        blocked = [verdict for verdict in verdicts if verdict.blocked]
        if blocked:
            self.moderation.violated(self.account_id, blocked[0], spec)
        kept = [
            image for image, verdict in zip(images, verdicts, strict=True) if not verdict.blocked
        ]
        if not kept:
            raise ContentFiltered(
                f"Every image made went against this service's content policy "
                f"({blocked[0].category}); nothing was charged.",
                param="prompt",
            )
        return kept
