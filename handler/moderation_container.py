"""Accounts' moderation policies, from ``Settings``: what the admin API sets and generation
reads (``generation_container.moderation`` builds the guardrail's check)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from handler.config import get_settings

if TYPE_CHECKING:
    from handler.money.stored.account_moderation import DynamoDBAccountModeration


@cache
def account_moderation() -> DynamoDBAccountModeration:
    from handler.money.stored.account_moderation import DynamoDBAccountModeration

    settings = get_settings()
    return DynamoDBAccountModeration(settings.keys_table, settings.ledger_table)
