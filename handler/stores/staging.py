"""The S3 prefix where asynchronous SageMaker invocations keep their bodies and results.

The endpoint reads the bodies and writes its outputs and failures there too (its
``AsyncS3Uri``). Nothing is deleted here: a ticket must outlive every attempt of its request
that could still collect it, and the prefix's lifecycle rule expires it all after a day.
"""

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from handler.aws.clients import s3_client
from handler.aws.errors import Refused, aws_errors
from handler.core.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

ASYNC_PREFIX = "sagemaker-async/"
_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3AsyncStore:
    def __init__(self, bucket: str, prefix: str = ASYNC_PREFIX, client: "S3Client | None" = None):
        self._bucket = bucket
        self._prefix = prefix
        self._client = client or s3_client()

    def location(self, name: str) -> str:
        return f"s3://{self._bucket}/{self._prefix}{name}"

    def put(self, name: str, body: bytes) -> str:
        with aws_errors("Could not stage the request for the SageMaker endpoint."):
            self._client.put_object(Bucket=self._bucket, Key=f"{self._prefix}{name}", Body=body)
        return self.location(name)

    def read(self, location: str) -> bytes | None:
        bucket, key = _split(location)
        try:
            with aws_errors("Could not read the SageMaker endpoint's result.", expected=_MISSING):
                return self._client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Refused:
            return None


def _split(location: str) -> tuple[str, str]:
    parts = urlsplit(location)
    if parts.scheme != "s3" or not parts.netloc or not parts.path.lstrip("/"):
        raise StorageError(f"Not an S3 location: {location}", should_retry=False)
    return parts.netloc, parts.path.lstrip("/")
