"""Dependencies of the public app's generating and queued-work routes (``deps.py`` has those
every app's routes share)."""

from typing import Annotated, NamedTuple

from fastapi import Depends, Request

from handler.api.deps import get_caller
from handler.api.services import services_of
from handler.core.deadline import Deadline
from handler.core.records.keys import Credentials
from handler.generation.offering import Offering
from handler.generation.service import GenerationService
from handler.money.policy import Meter
from handler.ports.images import ImageStore
from handler.work.async_jobs import AsyncJobs
from handler.work.batches import Batches
from handler.work.reader import WorkReader


async def get_offering(request: Request) -> Offering:
    return services_of(request).offering()


async def get_generation_service(request: Request) -> GenerationService:
    return services_of(request).generation_service()


async def get_async_jobs(request: Request) -> AsyncJobs:
    return services_of(request).async_jobs()


async def get_batches(request: Request) -> Batches:
    return services_of(request).batches()


async def get_work_reader(request: Request) -> WorkReader:
    return services_of(request).work_reader()


async def get_image_store(request: Request) -> ImageStore:
    return services_of(request).image_store()


def get_webhook_master_secret(request: Request) -> str:
    # Secrets Manager, the first time: blocking, so in a worker thread.
    return services_of(request).webhook_master_secret()


class GenerationNeeds(NamedTuple):
    credentials: Credentials
    service: GenerationService
    jobs: AsyncJobs
    request_id: str
    deadline: Deadline
    meter: Meter


async def generation_needs(request: Request) -> GenerationNeeds:
    """What a generating route needs (``api/generating.py``), got in one call."""
    caller = await get_caller(request)
    return GenerationNeeds(
        caller.credentials,
        await get_generation_service(request),
        await get_async_jobs(request),
        caller.request_id,
        caller.deadline,
        caller.meter,
    )


OfferingDep = Annotated[Offering, Depends(get_offering)]
GenerationServiceDep = Annotated[GenerationService, Depends(get_generation_service)]
AsyncJobsDep = Annotated[AsyncJobs, Depends(get_async_jobs)]
BatchesDep = Annotated[Batches, Depends(get_batches)]
WorkReaderDep = Annotated[WorkReader, Depends(get_work_reader)]
ImageStoreDep = Annotated[ImageStore, Depends(get_image_store)]
WebhookMasterSecretDep = Annotated[str, Depends(get_webhook_master_secret)]
