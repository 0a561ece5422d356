"""Gathering the outcomes of a backend's parallel calls."""

from collections.abc import Sequence
from concurrent.futures import Future
from typing import TypeVar

from handler.core.errors import BackendError, BackendTimeout

T = TypeVar("T")


def gather(futures: Sequence[Future[T]]) -> tuple[list[T], list[BackendError]]:
    """Each call's result, or its ``BackendError``.

    A timeout is raised at once: past the deadline the request fails whole (504), whatever
    else finished. Anything that is not a ``BackendError`` is a bug and is raised too.
    """
    results: list[T] = []
    errors: list[BackendError] = []
    for future in futures:
        error = future.exception()
        if isinstance(error, BackendTimeout):
            raise error
        if isinstance(error, BackendError):
            errors.append(error)
        elif error is not None:
            raise error
        else:
            results.append(future.result())
    return results, errors


def worst(errors: Sequence[BackendError]) -> BackendError:
    """The error to report when nothing was delivered: one that forbids a retry, if any does,
    since its call may have run on a GPU; it says nothing ran only if that is true of all."""
    chosen = next((error for error in errors if error.should_retry is False), errors[0])
    chosen.nothing_ran = all(error.nothing_ran for error in errors)
    return chosen
