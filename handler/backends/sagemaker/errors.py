"""SageMaker runtime errors in the project's terms."""

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError
from urllib3.exceptions import HTTPError
from urllib3.exceptions import ReadTimeoutError as StreamReadTimeout

from handler.core.errors import BackendError, BackendRefused, BackendTimeout, BackendUnavailable


@contextmanager
def invocation_errors(*, realtime: bool) -> Iterator[None]:
    """What botocore raises calling the endpoint, as a backend error: a real-time read past
    the deadline is ``BackendTimeout``. An event stream is read from urllib3 directly, so
    its read timeout and broken connections come as urllib3's errors."""
    try:
        yield
    except (ReadTimeoutError, StreamReadTimeout) as exc:
        if not realtime:
            raise BackendError("Could not reach the SageMaker endpoint.") from exc
        raise too_late() from exc
    except ClientError as exc:  # also an exception event of a stream (EventStreamError)
        raise translate(exc) from exc
    except (BotoCoreError, HTTPError) as exc:
        raise BackendError("Could not reach the SageMaker endpoint.") from exc


def translate(exc: ClientError) -> BackendError:
    """SageMaker runtime errors in the project's terms."""
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    message = error.get("Message", "")
    if code == "ModelNotReadyException":
        return BackendUnavailable(
            "The model is not ready yet (scaling up); retry shortly.", retry_after=10
        )
    if code in ("ThrottlingException", "ServiceUnavailable", "InternalDependencyException"):
        return BackendUnavailable("The model's endpoint is busy; retry shortly.", retry_after=2)
    if code == "InternalFailure":
        failed = BackendUnavailable("SageMaker failed internally; retry shortly.")
        failed.nothing_ran = False  # it may have failed after the model ran
        return failed
    if code == "ModelError":
        original = exc.response.get("OriginalStatusCode", "?")
        detail = exc.response.get("OriginalMessage") or message
        return BackendError(f"The model failed ({original}): {detail}")
    if code in ("ModelStreamError", "InternalStreamFailure"):
        # Mid-stream: the model has run, so not worth a retry the caller did not ask for.
        return BackendError(f"The model's stream broke off ({code}): {message}")
    if code == "ValidationError":
        # Endpoint missing, payload over 6 MB and the like: this deployment's configuration.
        return BackendRefused(f"SageMaker refused the invocation: {message}")
    return BackendError(f"SageMaker error {code}: {message}")


def too_late() -> BackendTimeout:
    return BackendTimeout(
        "The image was not ready before the request's deadline and nothing was charged. "
        "Real-time endpoints cannot be cancelled: the model stops at SageMaker's own limit."
    )
