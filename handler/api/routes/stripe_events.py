"""Stripe's webhook events: no bearer key; the ``Stripe-Signature`` is what is checked."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from handler.api.deps import get_card_top_ups
from handler.api.errors import ERROR_RESPONSES
from handler.money.cards import CardTopUps

router = APIRouter(tags=["billing"])


class Received(BaseModel):
    received: Literal[True] = True


@router.post("/webhooks/stripe", responses=ERROR_RESPONSES)
async def receive_stripe_event(
    request: Request, cards: Annotated[CardTopUps, Depends(get_card_top_ups)]
) -> Received:
    """A Stripe event, verified by its signature over the exact body and applied once: a paid
    checkout credits its key; a refund or a dispute takes the money back."""
    body = await request.body()  # the signature covers these bytes, not a parsed form
    signature = request.headers.get("stripe-signature")
    await run_in_threadpool(cards.receive, body, signature)
    return Received()
