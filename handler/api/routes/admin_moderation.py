"""The operators' view of an account's moderation (IAM-signed, as the rest of the admin API):
its policy, within the deployment's guardrail, how many of its requests were blocked, and a
key's requests with their verdicts, as the key holder sees them."""

import re
import time
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from handler.api.deps import ChargeStoreDep, OperatorDep
from handler.api.errors import ERROR_RESPONSES
from handler.api.json_body import JsonBodyRoute
from handler.api.member_deps import AccountModerationDep
from handler.api.pages import CursorPage, PageAfter, PageLimit
from handler.api.routes.usage import UsageRequest, usage_page
from handler.core.errors import InvalidRequest
from handler.core.records.moderation import CATEGORIES, Level, ModerationPolicy
from handler.ports.moderation import AccountModeration

router = APIRouter(tags=["admin"], route_class=JsonBodyRoute, responses=ERROR_RESPONSES)
_TOPIC = re.compile(r"topic:[\w .-]{1,100}")


class PolicyBody(BaseModel):
    strengths: Annotated[
        dict[str, Level],
        Field(
            description=(
                "Per category (" + ", ".join(CATEGORIES) + ", or topic:<a denied topic>), the "
                "strength of its filter for this account: high blocks from low confidence up, "
                "medium from medium, low only high; none adds nothing to the guardrail's own."
            )
        ),
    ] = {}
    check_outputs: Annotated[
        bool, Field(description="False: images made are not checked (where the operator allows).")
    ] = True

    def policy(self) -> ModerationPolicy:
        for category in self.strengths:
            if category not in CATEGORIES and not _TOPIC.fullmatch(category):
                raise InvalidRequest(
                    f"{category!r} is not a category: one of {', '.join(CATEGORIES)}, "
                    "or topic:<name>.",
                    param="strengths",
                )
        return ModerationPolicy(dict(self.strengths), self.check_outputs)


class AccountModerationView(BaseModel):
    object: Literal["account.moderation"] = "account.moderation"
    account_id: str
    policy: Annotated[PolicyBody | None, Field(description="None: the operator's default.")]
    violations: Annotated[int, Field(description="Its requests blocked, over its life.")]


@router.get("/accounts/{account_id}/moderation")
def show_moderation(
    account_id: str, moderation: AccountModerationDep, operator: OperatorDep
) -> AccountModerationView:
    return _view(account_id, moderation)


@router.put("/accounts/{account_id}/moderation")
def set_moderation(
    account_id: str,
    body: PolicyBody | None,
    moderation: AccountModerationDep,
    operator: OperatorDep,
) -> AccountModerationView:
    """Hold the account's requests to ``body`` (``null``: the operator's default again)."""
    policy = None if body is None else body.policy()
    moderation.set_policy(account_id, policy, actor=operator, now=int(time.time()))
    return _view(account_id, moderation)


@router.get("/keys/{key_id}/requests")
def list_key_requests(
    key_id: str,
    charges: ChargeStoreDep,
    operator: OperatorDep,
    limit: PageLimit = 20,
    after: PageAfter = None,
) -> CursorPage[UsageRequest]:
    """A key's requests, newest first, as ``GET /v1/usage/requests`` shows them to its holder:
    what each cost, and moderation's verdicts (a blocked prompt among them, charged nothing)."""
    return usage_page(charges, key_id, limit, after)


def _view(account_id: str, moderation: AccountModeration) -> AccountModerationView:
    policy = moderation.policy(account_id)
    shown = None
    if policy is not None:
        shown = PolicyBody(strengths=policy.strengths, check_outputs=policy.check_outputs)
    return AccountModerationView(
        account_id=account_id, policy=shown, violations=moderation.violations(account_id)
    )
