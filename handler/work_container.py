"""What submitting and reading queued work takes, from ``Settings``, each built once: async jobs
and batches as the API takes them, what the routes read back, and the splitter that turns a
batch's input file into queued lines. Nothing here generates (``generation_container`` does)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from handler import container
from handler.config import get_settings
from handler.stores.resolver import resolve as resolve_host

if TYPE_CHECKING:
    from handler.work.async_jobs import AsyncJobs
    from handler.work.batches import Batches
    from handler.work.intake import Intake
    from handler.work.reader import WorkReader
    from handler.work.splitter import Splitter


@cache
def intake() -> Intake:
    from handler.work.intake import Intake

    return Intake(
        container.key_store(),
        container.work_store(),
        container.idempotency(),
        container.charging(),
        resolve_host,
        local_webhooks=get_settings().local_webhooks,
    )


@cache
def async_jobs() -> AsyncJobs:
    from handler.work.async_jobs import AsyncJobs

    return AsyncJobs(intake(), container.catalog(), container.work_queue(), container.finisher())


@cache
def batches() -> Batches:
    from handler.work.batches import Batches

    return Batches(intake(), container.catalog(), container.batch_files(), container.notifier())


@cache
def work_reader() -> WorkReader:
    from handler.stores.work_lists import DynamoDBWorkLists
    from handler.work.reader import WorkReader

    lists = DynamoDBWorkLists(get_settings().work_table)
    return WorkReader(
        intake(),
        batches(),
        container.work_store(),
        lists,
        container.batch_files(),
        container.delivery(),
    )


@cache
def splitter() -> Splitter:
    from handler.work.splitter import Splitter

    return Splitter(
        get_settings().images_bucket,
        container.catalog(),
        container.key_store(),
        container.work_store(),
        container.batch_files(),
        container.work_queue(),
        container.finisher(),
    )
