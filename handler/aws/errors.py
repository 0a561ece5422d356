"""The one translation of botocore's failures into the project's own."""

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.core.errors import Outcome, StorageError


class Refused(Outcome):
    """An AWS error the caller expects and handles (a failed condition, a missing object)."""

    def __init__(self, code: str, response: Mapping[str, Any]):
        super().__init__(code)
        self.code = code
        self.response = response


@contextmanager
def aws_errors(message: str, *, expected: Collection[str] = ()) -> Iterator[None]:
    """What botocore raises inside becomes ``StorageError(message)``, its cause kept; an error
    whose code is ``expected`` becomes ``Refused``, for the caller."""
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        if code in expected:
            raise Refused(code, exc.response) from exc
        raise StorageError(message) from exc
    except BotoCoreError as exc:
        raise StorageError(message) from exc


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")
