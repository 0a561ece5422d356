"""Batch input and output files (``stores/batch_files.py``)."""

from collections.abc import Iterable, Iterator
from typing import Protocol

from handler.core.records.work import UploadForm


class BatchFiles(Protocol):
    """Input and output files of batches, in the images bucket."""

    def input_lines(self, key: str, *, max_bytes: int) -> Iterator[bytes]:
        """The file's lines (without their line ends) as it streams; InvalidRequest if it is
        over ``max_bytes``."""
        ...

    def write_input(self, key: str, data: bytes) -> None: ...

    def write_output(self, key: str, lines: Iterable[bytes]) -> None:
        """Write ``lines`` as they come, holding a part of the file at a time."""
        ...

    def upload_form(self, key: str, *, expires_in: int, max_bytes: int) -> "UploadForm":
        """A presigned POST of one file to ``key``, which S3 itself refuses over
        ``max_bytes``."""
        ...

    def download_url(self, key: str) -> str: ...
