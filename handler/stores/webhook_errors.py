"""How a webhook attempt can end without a 2xx."""

from handler.core.errors import Outcome


class WebhookFailed(Outcome):
    """The attempt did not get a 2xx: the queue tries again later."""


class WebhookRefused(Outcome):
    """The URL leads to an address that is not public: no attempt is made, now or later."""
