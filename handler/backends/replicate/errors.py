"""Replicate's answers in the project's terms."""

from replicate.exceptions import ReplicateError

from handler.backends.replicate.transport import Deferred
from handler.core.errors import BackendError, BackendRefused, BackendTimeout, BackendUnavailable


def busy(deferred: Deferred) -> BackendUnavailable:
    return BackendUnavailable(
        "The model's provider is busy; retry shortly.", retry_after=deferred.retry_after
    )


def filtered(error: str | None) -> bool:
    # Flux's and SDXL's cog code fail the prediction when the safety checker removes every
    # image; Replicate gives that no error code of its own, only this wording.
    return error is not None and "nsfw" in error.lower()


def too_late() -> BackendTimeout:
    return BackendTimeout(
        "The image was not ready before the request's deadline; its generation was cancelled "
        "and nothing was charged."
    )


def translate(exc: ReplicateError) -> BackendError:
    status = exc.status or 0
    detail = exc.detail or exc.title or "no detail"
    if status in (401, 403):
        return BackendRefused("The model's provider refused this deployment's API token.")
    if status == 404:
        return BackendRefused("The model was not found at its provider: check the catalog.")
    if status >= 500:
        # Unlike 503 (the transport's), an error here may come after the prediction began.
        return BackendError(f"The model's provider failed ({status}).", should_retry=False)
    # 422 and the rest: no prediction was created, so nothing ran.
    return BackendRefused(f"The model's provider refused the request: {detail}")
