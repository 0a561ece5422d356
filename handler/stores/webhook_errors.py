"""How a webhook attempt can end without a 2xx."""


class WebhookFailed(Exception):
    """The attempt did not get a 2xx: the queue tries again later."""


class WebhookRefused(Exception):
    """The URL leads to an address that is not public: no attempt is made, now or later."""
