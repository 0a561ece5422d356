"""The project's exception tree, drawn in ``ImagegateError``'s docstring."""

from typing import Any, ClassVar


class ImagegateError(Exception):
    """Every exception the project raises: an error a client sees (``ApiError``), or an outcome
    its caller handles (``Outcome``). Adapters translate vendor exceptions (botocore, httpx,
    replicate, stripe) into these at their boundary.

    ImagegateError
    ├── ApiError                a client sees it: OpenAI's type, code and param, a status
    │   ├── InvalidRequest          bad JSON or parameter (param names it)
    │   │   ├── PayloadTooLarge     body or inline result over the limits
    │   │   ├── ContentFiltered     the model's safety filter removed every image
    │   │   └── ModelShutDown       the model is past its shutdown date
    │   ├── AuthenticationFailed    missing, malformed, unknown, expired or revoked key
    │   ├── InsufficientQuota       the key's balance is below the request's price
    │   │   └── MaxCostExceeded     the price is above the max_cost the request set
    │   ├── PermissionDenied        the key may not use this model
    │   ├── NotFound                no such key, job, batch or file
    │   │   └── ModelNotFound       no such model
    │   ├── Conflict                an Idempotency-Key still running, or a job past cancelling
    │   │   └── IdempotencyKeyReused    an Idempotency-Key sent again with another request
    │   ├── RateLimited             the key's per-minute limit is spent; retry_after says when
    │   └── ServiceError            our side failed
    │       ├── StorageError        DynamoDB, S3 or SQS did not do what was asked
    │       ├── PaymentsUnavailable     the card processor is out of reach, or refuses us
    │       └── BackendError        the inference backend failed
    │           ├── BackendRefused       it refused the work: trying again cannot help
    │           ├── BackendUnavailable   not ready or throttled; nothing ran, retry later
    │           │   └── BackendNotConfigured   this deployment cannot reach it at all
    │           ├── BackendTimeout       the deadline passed; the work was cancelled
    │           │   └── WorkPending      it goes on; a later attempt collects the work
    │           └── ModelTimedOut        Bedrock ended one image at the model's own limit
    └── Outcome                 it did not happen as asked, and the caller handles that
        ├── ReservationRefused  the key's conditional write did not pass; ``record`` says why
        ├── ReservationClosed   the reservation was settled already
        ├── KeyChanged          a spend window moved under the update: read the key again
        ├── AlreadyPosted       a ledger entry of this reference is there already (a retry)
        ├── PaymentChanged      the payment's record changed since it was read
        ├── NoSuchKey           a card event names a key this deployment does not have
        ├── CardDeclined        the saved card was refused (or there is none): nothing charged
        ├── ResultRecorded      another attempt recorded the line's result first
        ├── AccountRefused      an account's making was refused; names what stood in the way
        ├── Refused             an AWS error code the caller expects (a failed condition, say)
        ├── ConditionFailed     a DynamoDB write's condition did not hold
        ├── TransactionRefused  a transaction's conditions did not hold; names the writes
        ├── WebhookFailed       a webhook attempt got no 2xx: the queue tries again later
        ├── WebhookRefused      a webhook URL leads to an address not public: never sent
        ├── Deferred            Replicate asked to be called again later (429, 503)
        ├── Filtered            Bedrock's content filter removed one image
        └── _OtherCurrency      a Stripe event in a currency this deployment does not take

    Outcomes live beside what raises them (``core.outcomes`` holds the shared ones). Not in
    the tree: ``_NotJson`` (``api.json_body``), ``_Refused`` (``api.forms``): a library's base
    (``ValueError``, ``MultiPartException``) carries them; ``handler.cli``'s never ship."""


class ApiError(ImagegateError):
    """An error a client sees: ``handler.api.errors`` answers it with its status and
    ``envelope``; a queued line records that answer as its result."""

    type: ClassVar[str] = "server_error"
    default_code: ClassVar[str | None] = None
    # False once GPU work may have run: a blind retry would pay for it again.
    default_should_retry: ClassVar[bool | None] = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        should_retry: bool | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code or self.default_code
        self.should_retry = self.default_should_retry if should_retry is None else should_retry
        self.retry_after = retry_after


class InvalidRequest(ApiError):
    type = "invalid_request_error"
    default_code = "invalid_value"


class PayloadTooLarge(InvalidRequest):
    default_code = "payload_too_large"


class ContentFiltered(InvalidRequest):
    default_code = "content_policy_violation"
    default_should_retry = False


class AuthenticationFailed(ApiError):
    type = "authentication_error"
    default_code = "invalid_api_key"


class InsufficientQuota(ApiError):
    type = "insufficient_quota"
    default_code = "insufficient_quota"
    default_should_retry = False


class PermissionDenied(ApiError):
    type = "permission_error"
    default_code = "model_not_allowed"
    default_should_retry = False


class Conflict(ApiError):
    type = "conflict"


class IdempotencyKeyReused(Conflict):
    """The Idempotency-Key came with another request than the first: no retry can succeed.
    Every route that takes the header answers it so (money routes and generations alike)."""

    default_code = "idempotency_key_reused"
    default_should_retry = False

    def __init__(
        self,
        message: str = "This Idempotency-Key was already used with a different request. Use a "
        "new key for a new request.",
    ):
        super().__init__(message)


class RateLimited(ApiError):
    type = "rate_limit_error"
    default_code = "rate_limit_exceeded"
    default_should_retry = True


class NotFound(ApiError):
    type = "not_found_error"


class ModelNotFound(NotFound):
    default_code = "model_not_found"

    def __init__(self, model: str):
        super().__init__(
            f"The model '{model}' does not exist. GET /v1/models lists the models served here.",
            param="model",
        )


class ModelShutDown(InvalidRequest):
    """The model reached its shutdown date: no request runs on it any more."""

    default_code = "model_shut_down"

    def __init__(self, model: str, since: str, successor: str | None):
        instead = f" Use '{successor}' instead." if successor else ""
        super().__init__(
            f"The model '{model}' was shut down on {since} and no longer serves requests."
            + instead,
            param="model",
        )


class ServiceError(ApiError):
    type = "server_error"


class StorageError(ServiceError):
    default_code = "storage_error"


class BackendError(ServiceError):
    default_code = "backend_error"
    default_should_retry = False
    nothing_ran = False  # True: provably nothing billable ran; another placement may take it


class BackendUnavailable(BackendError):
    default_code = "backend_unavailable"
    default_should_retry = True
    nothing_ran = True


class BackendRefused(BackendError):
    nothing_ran = True


class BackendNotConfigured(BackendUnavailable):
    default_code = "backend_not_configured"
    default_should_retry = False


class BackendTimeout(BackendError):
    default_code = "backend_timeout"


class WorkPending(BackendTimeout):
    """The backend goes on with work it accepted (an asynchronous invocation): a later
    attempt of the same request collects it. To a synchronous caller, a timeout."""


class PaymentsUnavailable(ServiceError):
    """The card processor could not be reached, or refused this deployment's credentials."""

    default_code = "payments_unavailable"


class Outcome(ImagegateError):
    """Not an error a client sees: something the caller asked for did not happen as asked,
    and the caller handles it. One that escapes is a bug, answered as any other: a logged 500
    ``server_error`` whose message says nothing of it."""


_STATUS: dict[type[ApiError], int] = {
    PayloadTooLarge: 413,
    ModelShutDown: 410,
    InvalidRequest: 400,
    AuthenticationFailed: 401,
    InsufficientQuota: 402,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
    BackendTimeout: 504,
    BackendUnavailable: 503,
    PaymentsUnavailable: 503,
    BackendError: 502,
    ServiceError: 500,
}


def status_of(exc: ApiError) -> int:
    """The HTTP status of an error, for responses and for batch output lines alike."""
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def envelope(exc: ApiError) -> dict[str, Any]:
    """OpenAI's error body, all four keys present."""
    return {
        "error": {"message": exc.message, "type": exc.type, "param": exc.param, "code": exc.code}
    }
