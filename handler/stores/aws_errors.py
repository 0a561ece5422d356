"""The one translation of botocore's failures into the project's own."""

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from handler.core.errors import StorageError


@contextmanager
def aws_errors(message: str) -> Iterator[None]:
    """What botocore raises inside becomes ``StorageError(message)``, its cause kept."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise StorageError(message) from exc
