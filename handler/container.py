"""The objects every function shares, from ``Settings``, each built once (``reset()`` forgets
them): the catalog, keys and charging, the stores of work and images. Each factory imports what
it builds when it first builds it, so an init phase imports only the objects it makes. What
only some functions use is built beside it: ``generation_container`` (backends, the generation
service, the worker), ``work_container`` (submissions, reads, the splitter),
``billing_container`` (cards), ``accounts_container`` (accounts and key admin),
``members_container`` (members' sign-in), ``moderation_container``."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from handler.caches import reset
from handler.config import get_settings

if TYPE_CHECKING:
    from handler.core.catalog import Catalog
    from handler.generation.delivery import Delivery
    from handler.money.charging import Charging
    from handler.money.paid import PaidGeneration
    from handler.ports.batch_files import BatchFiles
    from handler.ports.charges import ChargeStore
    from handler.ports.idempotency import Idempotency
    from handler.ports.images import ImageStore
    from handler.ports.keys import KeyStore
    from handler.ports.ledger import Entries
    from handler.ports.notifier import Notifier
    from handler.ports.work_queue import WorkQueue
    from handler.ports.work_store import WorkStore
    from handler.work.finish import Finisher

__all__ = ["reset"]  # container.reset(), as the tests and the local stack call it


@cache
def catalog() -> Catalog:
    """The catalog this deployment serves: the preview stand-in only where it is asked for
    (it is no model, and would be sold at the catalog's prices)."""
    from handler.aws.regions import aws_regions
    from handler.core.catalog import load_catalog

    settings = get_settings()
    loaded = load_catalog(settings.catalog_file).checked_regions(aws_regions)
    if settings.serve_preview:
        return loaded
    return loaded.serving(lambda placement: placement.backend != "preview")


@cache
def key_store() -> KeyStore:
    from handler.money.stored.keys import DynamoDBKeyStore

    settings = get_settings()
    return DynamoDBKeyStore(settings.keys_table, settings.ledger_table)


@cache
def charge_store() -> ChargeStore:
    from handler.money.stored.charges import DynamoDBChargeStore

    settings = get_settings()
    tables = (settings.keys_table, settings.usage_table, settings.ledger_table)
    return DynamoDBChargeStore(*tables, work_table=settings.work_table)


@cache
def entries() -> Entries:
    from handler.money.stored.entries import DynamoDBEntries

    settings = get_settings()
    return DynamoDBEntries(settings.keys_table, settings.ledger_table)


@cache
def charging() -> Charging:
    from handler.money.charging import Charging
    from handler.money.stored.balance_alerts import DynamoDBBalanceAlerts
    from handler.money.stored.reloads import DynamoDBReloadClaims

    settings = get_settings()
    alerts = DynamoDBBalanceAlerts(
        settings.keys_table, settings.event_bus_name, settings.webhook_queue_url
    )
    reloads = DynamoDBReloadClaims(settings.keys_table, settings.reload_queue_url)
    return Charging(charge_store(), alerts=alerts, reloads=reloads)


@cache
def paid() -> PaidGeneration:
    """The paid path, with the quotes it honours (in the short-lived state table)."""
    from handler.money.paid import PaidGeneration
    from handler.money.quotes import Quotes
    from handler.money.stored.quotes import DynamoDBQuotes

    settings = get_settings()
    quotes = Quotes(DynamoDBQuotes(settings.idempotency_table), settings.card_currency)
    return PaidGeneration(charging(), quotes)


@cache
def idempotency() -> Idempotency:
    from handler.stores.idempotency import DynamoDBIdempotency

    return DynamoDBIdempotency(get_settings().idempotency_table)


@cache
def image_store() -> ImageStore:
    from handler.stores.images import S3ImageStore

    settings = get_settings()
    return S3ImageStore(settings.images_bucket, settings.url_ttl_seconds)


@cache
def delivery() -> Delivery:
    from handler.generation.delivery import Delivery

    return Delivery(image_store(), get_settings().max_response_bytes)


@cache
def work_store() -> WorkStore:
    from handler.stores.work import DynamoDBWorkStore

    return DynamoDBWorkStore(get_settings().work_table)


@cache
def work_queue() -> WorkQueue:
    from handler.stores.queue import SQSWorkQueue

    return SQSWorkQueue(get_settings().work_queue_url)


@cache
def batch_files() -> BatchFiles:
    from handler.stores.batch_files import S3BatchFiles

    settings = get_settings()
    return S3BatchFiles(settings.images_bucket, settings.url_ttl_seconds)


def webhook_master_secret() -> str:
    from handler.aws.secrets import secret_reader

    settings = get_settings()
    return secret_reader(settings.webhook_secret, settings.webhook_secret_name, "webhook secret")()


@cache
def notifier() -> Notifier:
    from handler.stores.notifier import EventNotifier

    settings = get_settings()
    return EventNotifier(settings.event_bus_name, settings.webhook_queue_url)


@cache
def finisher() -> Finisher:
    from handler.work.finish import Finisher

    return Finisher(work_store(), batch_files(), notifier(), delivery())
