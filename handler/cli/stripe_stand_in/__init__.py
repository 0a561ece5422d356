"""A local Stripe for the card top-up loop (``server.py``)."""

from handler.cli.stripe_stand_in.objects import sign
from handler.cli.stripe_stand_in.server import StripeStandIn

__all__ = ["StripeStandIn", "sign"]
