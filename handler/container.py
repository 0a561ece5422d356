"""The process's objects from ``Settings``, each built once (``reset()`` forgets them); the
app reaches them through the services ``app.py`` gives it."""

import sys
from collections.abc import Collection
from functools import cache

from handler.aws.regions import aws_regions
from handler.aws.secrets import secret_reader
from handler.backends import Backends
from handler.config import get_settings
from handler.core.catalog import Catalog, load_catalog
from handler.generation.delivery import Delivery
from handler.generation.offering import Offering
from handler.generation.routing import Router
from handler.generation.service import GenerationService
from handler.moderation_container import moderation
from handler.money.charging import Charging
from handler.money.paid import PaidGeneration
from handler.money.quotes import Quotes
from handler.money.stored.balance_alerts import DynamoDBBalanceAlerts
from handler.money.stored.charges import DynamoDBChargeStore
from handler.money.stored.entries import DynamoDBEntries
from handler.money.stored.keys import DynamoDBKeyStore
from handler.money.stored.quotes import DynamoDBQuotes
from handler.money.stored.reloads import DynamoDBReloadClaims
from handler.ports.batch_files import BatchFiles
from handler.ports.charges import ChargeStore
from handler.ports.idempotency import Idempotency
from handler.ports.images import ImageStore
from handler.ports.keys import KeyStore
from handler.ports.ledger import Entries
from handler.ports.notifier import Notifier
from handler.ports.staging import AsyncStore
from handler.ports.work_queue import WorkQueue
from handler.ports.work_store import WorkStore
from handler.provenance import provenance
from handler.stores.batch_files import S3BatchFiles
from handler.stores.circuits import DynamoDBCircuits
from handler.stores.idempotency import DynamoDBIdempotency
from handler.stores.images import S3ImageStore
from handler.stores.notifier import EventNotifier
from handler.stores.queue import SQSWorkQueue
from handler.stores.staging import S3AsyncStore
from handler.stores.webhooks import resolve as resolve_host
from handler.stores.work import DynamoDBWorkStore
from handler.stores.work_lists import DynamoDBWorkLists
from handler.work.async_jobs import AsyncJobs
from handler.work.batches import Batches
from handler.work.finish import Finisher
from handler.work.intake import Intake
from handler.work.lines import LineRunner
from handler.work.reader import WorkReader
from handler.work.splitter import Splitter
from handler.work.worker import Worker


@cache
def catalog() -> Catalog:
    """The catalog this deployment serves; the preview stand-in (no model) only if asked for."""
    settings = get_settings()
    loaded = load_catalog(settings.catalog_file).checked_regions(aws_regions)
    if settings.serve_preview:
        return loaded
    return loaded.serving(lambda placement: placement.backend != "preview")


@cache
def key_store() -> KeyStore:
    settings = get_settings()
    return DynamoDBKeyStore(settings.keys_table, settings.ledger_table)


@cache
def charge_store() -> ChargeStore:
    settings = get_settings()
    tables = (settings.keys_table, settings.usage_table, settings.ledger_table)
    return DynamoDBChargeStore(*tables, work_table=settings.work_table)


@cache
def entries() -> Entries:
    return DynamoDBEntries(get_settings().keys_table, get_settings().ledger_table)


@cache
def charging() -> Charging:
    settings = get_settings()
    alerts = DynamoDBBalanceAlerts(
        settings.keys_table, settings.event_bus_name, settings.webhook_queue_url
    )
    reloads = DynamoDBReloadClaims(settings.keys_table, settings.reload_queue_url)
    return Charging(charge_store(), alerts=alerts, reloads=reloads)


@cache
def paid() -> PaidGeneration:
    """The paid path, with the quotes it honours (in the short-lived state table)."""
    settings = get_settings()
    quotes = Quotes(DynamoDBQuotes(settings.idempotency_table), settings.card_currency)
    return PaidGeneration(charging(), quotes)


@cache
def idempotency() -> Idempotency:
    return DynamoDBIdempotency(get_settings().idempotency_table)


@cache
def image_store() -> ImageStore:
    settings = get_settings()
    return S3ImageStore(settings.images_bucket, settings.url_ttl_seconds)


@cache
def backends() -> Backends:
    from handler.backends.makers import backend_makers  # no backend module until needed

    return Backends(backend_makers(async_store), catalog().backend_names())


@cache
def router() -> Router:
    settings = get_settings()  # every image is signed as it leaves its backend (provenance)
    return Router(backends(), DynamoDBCircuits(settings.idempotency_table), provenance(settings))


@cache
def offering() -> Offering:
    return Offering(catalog(), backends())


@cache
def async_store() -> AsyncStore:
    return S3AsyncStore(get_settings().images_bucket)


@cache
def generation_service() -> GenerationService:
    return GenerationService(
        catalog=catalog(),
        router=router(),
        offering=offering(),
        delivery=delivery(),
        keys=key_store(),
        paid=paid(),
        idempotency=idempotency(),
        moderation=moderation(charging(), key_store()),
    )


@cache
def delivery() -> Delivery:
    return Delivery(image_store(), get_settings().max_response_bytes)


@cache
def line_runner() -> LineRunner:
    return LineRunner(generation_service(), paid(), key_store(), work_store())


@cache
def work_store() -> WorkStore:
    return DynamoDBWorkStore(get_settings().work_table)


@cache
def work_queue() -> WorkQueue:
    return SQSWorkQueue(get_settings().work_queue_url)


@cache
def batch_files() -> BatchFiles:
    settings = get_settings()
    return S3BatchFiles(settings.images_bucket, settings.url_ttl_seconds)


def webhook_master_secret() -> str:
    settings = get_settings()
    return secret_reader(settings.webhook_secret, settings.webhook_secret_name, "webhook secret")()


@cache
def work_reader() -> WorkReader:
    lists = DynamoDBWorkLists(get_settings().work_table)
    return WorkReader(intake(), batches(), work_store(), lists, batch_files(), delivery())


@cache
def notifier() -> Notifier:
    settings = get_settings()
    return EventNotifier(settings.event_bus_name, settings.webhook_queue_url)


@cache
def intake() -> Intake:
    return Intake(
        key_store(),
        work_store(),
        idempotency(),
        charging(),
        resolve_host,
        local_webhooks=get_settings().local_webhooks,
    )


@cache
def async_jobs() -> AsyncJobs:
    return AsyncJobs(intake(), catalog(), work_queue(), finisher())


@cache
def batches() -> Batches:
    return Batches(intake(), catalog(), batch_files(), notifier())


@cache
def finisher() -> Finisher:
    return Finisher(work_store(), batch_files(), notifier(), delivery())


@cache
def splitter() -> Splitter:
    return Splitter(
        get_settings().images_bucket,
        catalog(),
        key_store(),
        work_store(),
        batch_files(),
        work_queue(),
        finisher(),
    )


@cache
def worker() -> Worker:
    pending_check = get_settings().pending_check_seconds
    return Worker(line_runner(), work_store(), finisher(), work_queue(), pending_check)


def reset(*, keep: Collection[object] = ()) -> None:
    """Forget every cached object (tests, the local stack after it sets the env): every cache
    of every imported module of the package but those in ``keep``; none is left out."""
    for name, module in list(sys.modules.items()):
        if name != "handler" and not name.startswith("handler."):
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name and value not in keep:
                clear()
