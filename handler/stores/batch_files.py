"""Batch input and output files, in the images bucket under ``batches/``."""

from typing import TYPE_CHECKING

from handler.core.errors import InvalidRequest
from handler.core.work.ports import UploadForm
from handler.stores.aws_errors import aws_errors
from handler.stores.clients import s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


class S3BatchFiles:
    def __init__(self, bucket: str, url_ttl_seconds: int, client: "S3Client | None" = None):
        self._bucket = bucket
        self._ttl = url_ttl_seconds
        self._client = client or s3_client()

    def read_input(self, key: str, *, max_bytes: int) -> bytes:
        with aws_errors("Could not read the batch's input file."):
            head = self._client.head_object(Bucket=self._bucket, Key=key)
            if head["ContentLength"] > max_bytes:
                raise InvalidRequest(
                    f"The input file is {head['ContentLength']} bytes, over the "
                    f"{max_bytes}-byte limit of a batch.",
                    param="input",
                )
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()

    def write_input(self, key: str, data: bytes) -> None:
        self._put(key, data, "Could not store the batch's input.")

    def write_output(self, key: str, data: bytes) -> None:
        self._put(key, data, "Could not write the batch's output file.")

    def upload_form(self, key: str, *, expires_in: int, max_bytes: int) -> UploadForm:
        with aws_errors("Could not sign the batch file's upload."):
            signed = self._client.generate_presigned_post(
                Bucket=self._bucket,
                Key=key,
                Conditions=[["content-length-range", 1, max_bytes]],
                ExpiresIn=expires_in,
            )
        return UploadForm(signed["url"], dict(signed["fields"]))

    def download_url(self, key: str) -> str:
        return self._sign("get_object", key, self._ttl)

    def _put(self, key: str, data: bytes, failure: str) -> None:
        with aws_errors(failure):
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=data, ContentType="application/jsonl"
            )

    def _sign(self, method: str, key: str, expires_in: int) -> str:
        params = {"Bucket": self._bucket, "Key": key}
        with aws_errors("Could not sign the batch file's URL."):
            return self._client.generate_presigned_url(method, Params=params, ExpiresIn=expires_in)
