"""Moderation's objects from ``ModerationSettings``: None where no guardrail is configured
(nothing is moderated here then)."""

from functools import cache

from handler.config import get_moderation_settings, get_settings
from handler.core.records.moderation import ModerationPolicy
from handler.generation.moderating import Moderation, ModerationRules
from handler.money.charging import Charging
from handler.money.stored.account_moderation import DynamoDBAccountModeration
from handler.money.stored.accounts import DynamoDBAccounts
from handler.ports.keys import KeyStore


def moderation(charging: Charging, keys: KeyStore) -> Moderation | None:
    """Built once, with the generation service that holds it."""
    settings, chosen = get_settings(), get_moderation_settings()
    if not chosen.enabled or chosen.guardrail_id is None:
        return None
    from handler.backends.guardrails import BedrockGuardrail  # loaded only where it is used

    rules = ModerationRules(
        default=ModerationPolicy(),
        low_allowed=chosen.moderation_low_allowed,
        outputs_optional=chosen.moderation_outputs_optional,
        suspend_after=chosen.moderation_suspend_after,
    )
    return Moderation(
        guardrail=BedrockGuardrail(
            chosen.guardrail_id, chosen.guardrail_version, chosen.guardrail_region
        ),
        accounts=account_moderation(),
        suspensions=DynamoDBAccounts(
            settings.keys_table, settings.ledger_table, settings.members_table
        ),
        keys=keys,
        charging=charging,
        rules=rules,
    )


@cache
def account_moderation() -> DynamoDBAccountModeration:
    settings = get_settings()
    return DynamoDBAccountModeration(settings.keys_table, settings.ledger_table)
