"""What generating takes, from ``Settings``, each built once: the backends (each imported when
the catalog first needs it), the placements' router, moderation, the generation service, and
the worker that runs queued lines through it. The API, the streaming function, the worker and
the dead-letter function import it; no other function does."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from handler import container
from handler.config import get_moderation_settings, get_settings
from handler.moderation_container import account_moderation

if TYPE_CHECKING:
    from handler.backends import Backends
    from handler.generation.moderating import Moderation
    from handler.generation.offering import Offering
    from handler.generation.routing import Router
    from handler.generation.service import GenerationService
    from handler.ports.staging import AsyncStore
    from handler.work.lines import LineRunner
    from handler.work.worker import Worker


@cache
def backends() -> Backends:
    from handler.backends import Backends
    from handler.backends.makers import backend_makers  # no backend module until needed

    return Backends(backend_makers(async_store), container.catalog().backend_names())


@cache
def router() -> Router:
    from handler.generation.routing import Router
    from handler.provenance import provenance
    from handler.stores.circuits import DynamoDBCircuits

    settings = get_settings()  # every image is signed as it leaves its backend (provenance)
    return Router(backends(), DynamoDBCircuits(settings.idempotency_table), provenance(settings))


@cache
def offering() -> Offering:
    from handler.generation.offering import Offering

    return Offering(container.catalog(), backends())


@cache
def async_store() -> AsyncStore:
    from handler.stores.staging import S3AsyncStore

    return S3AsyncStore(get_settings().images_bucket)


def moderation() -> Moderation | None:
    """Built once, with the generation service that holds it; None where no guardrail is
    configured (nothing is moderated here then)."""
    settings, chosen = get_settings(), get_moderation_settings()
    if not chosen.enabled or chosen.guardrail_id is None:
        return None
    from handler.backends.guardrails import BedrockGuardrail  # loaded only where it is used
    from handler.core.records.moderation import ModerationPolicy
    from handler.generation.moderating import Moderation, ModerationRules
    from handler.money.stored.accounts import DynamoDBAccounts

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
        keys=container.key_store(),
        charging=container.charging(),
        rules=rules,
    )


@cache
def generation_service() -> GenerationService:
    from handler.generation.service import GenerationService

    return GenerationService(
        catalog=container.catalog(),
        router=router(),
        offering=offering(),
        delivery=container.delivery(),
        keys=container.key_store(),
        paid=container.paid(),
        idempotency=container.idempotency(),
        moderation=moderation(),
    )


@cache
def line_runner() -> LineRunner:
    from handler.work.lines import LineRunner

    return LineRunner(
        generation_service(), container.paid(), container.key_store(), container.work_store()
    )


@cache
def worker() -> Worker:
    from handler.work.worker import Worker

    pending_check = get_settings().pending_check_seconds
    return Worker(
        line_runner(),
        container.work_store(),
        container.finisher(),
        container.work_queue(),
        pending_check,
    )
