"""Dependencies the routes of every app declare; the services come from the app's
(``api/services.py``). The generating and queued-work routes' own are in ``work_deps.py``, so
the admin and members' apps load none of generation.

The ones that only read the request or the services are ``async``: FastAPI runs a plain
``def`` dependency in a worker thread, a hand-off per dependency per request."""

import time
from typing import Annotated, NamedTuple

from fastapi import Depends, Request

from handler.api.services import services_of
from handler.config import get_settings
from handler.core.deadline import Deadline
from handler.core.errors import PermissionDenied
from handler.core.records.keys import ApiKeyRecord, Credentials
from handler.keys.admin import KeyAdmin
from handler.keys.auth import authenticate, credentials_of
from handler.money.cards import CardTerms, CardTopUps
from handler.money.policy import Meter, rate_window
from handler.ports.charges import ChargeStore
from handler.ports.keys import KeyStore
from handler.ports.ledger import Entries


async def get_key_store(request: Request) -> KeyStore:
    return services_of(request).key_store()


async def get_charge_store(request: Request) -> ChargeStore:
    return services_of(request).charge_store()


async def get_entries(request: Request) -> Entries:
    return services_of(request).entries()


def get_card_top_ups(request: Request) -> CardTopUps:
    # Configured or not: a deployment without cards answers 404 here.
    return services_of(request).card_top_ups()


async def get_card_terms(request: Request) -> CardTerms | None:
    return services_of(request).card_terms()


async def get_currency() -> str:
    return get_settings().card_currency


async def get_key_admin(request: Request) -> KeyAdmin:
    return services_of(request).key_admin()


async def get_operator(request: Request) -> str:
    """The IAM principal API Gateway authorized (``AWS_IAM`` on ``/admin/...``): the admin
    API's caller, and the actor of what it changes. No identity: no admin API."""
    event = request.scope.get("aws.event") or {}
    identity = (event.get("requestContext") or {}).get("identity") or {}
    arn = identity.get("userArn")
    if not isinstance(arn, str) or not arn:
        raise PermissionDenied(
            "The admin API takes requests signed with AWS credentials (SigV4), through API "
            "Gateway, only.",
            code="iam_authorization_required",
        )
    return arn


async def get_deadline(request: Request) -> Deadline:
    """API Gateway's timeout from when it received the request, or Lambda's, less a margin."""
    settings = get_settings()
    margin = settings.deadline_margin_ms / 1000
    api_timeout = settings.api_timeout_ms / 1000
    received_at: float = request.state.received_at
    waited = time.monotonic() - received_at
    # API Gateway's clock started before ours (a cold start, say): its stamp says by how much.
    # One older than the timeout itself cannot be live (a replayed sample event): ignored.
    event = request.scope.get("aws.event") or {}
    stamp = (event.get("requestContext") or {}).get("requestTimeEpoch")
    if isinstance(stamp, int | float) and 0 <= time.time() - stamp / 1000 < api_timeout:
        waited = max(waited, time.time() - stamp / 1000)
    budget = api_timeout - margin - waited
    context = request.scope.get("aws.context")
    if context is not None:
        budget = min(budget, context.get_remaining_time_in_millis() / 1000 - margin)
    return Deadline.after(budget)


async def get_request_id(request: Request) -> str:
    request_id: str = request.state.request_id
    return request_id


async def get_credentials(request: Request) -> Credentials:
    return credentials_of(request.headers.get("authorization"))


async def get_meter(request: Request) -> Meter:
    """Where the request's rate window goes for its headers (the middleware made it)."""
    meter: Meter = request.state.meter
    return meter


class Caller(NamedTuple):
    """What a paid route reads of its request: who calls, as which request, by when, and
    where its rate window goes."""

    credentials: Credentials
    request_id: str
    deadline: Deadline
    meter: Meter


async def get_caller(request: Request) -> Caller:
    return Caller(
        await get_credentials(request),
        await get_request_id(request),
        await get_deadline(request),
        await get_meter(request),
    )


def get_api_key(
    credentials: Annotated[Credentials, Depends(get_credentials)],
    keys: Annotated[KeyStore, Depends(get_key_store)],
    meter: Annotated[Meter, Depends(get_meter)],
) -> ApiKeyRecord:
    """The calling key, for routes that cost nothing (priced ones check it as they charge)."""
    now = time.time()
    record = authenticate(credentials, keys, now=now)
    meter.window = rate_window(record, now)
    return record


RequestIdDep = Annotated[str, Depends(get_request_id)]
MeterDep = Annotated[Meter, Depends(get_meter)]
DeadlineDep = Annotated[Deadline, Depends(get_deadline)]
ApiKeyDep = Annotated[ApiKeyRecord, Depends(get_api_key)]
ChargeStoreDep = Annotated[ChargeStore, Depends(get_charge_store)]
EntriesDep = Annotated[Entries, Depends(get_entries)]
KeyStoreDep = Annotated[KeyStore, Depends(get_key_store)]
CredentialsDep = Annotated[Credentials, Depends(get_credentials)]
CardTopUpsDep = Annotated[CardTopUps, Depends(get_card_top_ups)]
CardTermsDep = Annotated[CardTerms | None, Depends(get_card_terms)]
CurrencyDep = Annotated[str, Depends(get_currency)]
KeyAdminDep = Annotated[KeyAdmin, Depends(get_key_admin)]
OperatorDep = Annotated[str, Depends(get_operator)]
