"""Batch input and output files, in the images bucket under ``batches/``."""

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, cast

from handler.aws.clients import s3_client
from handler.aws.errors import aws_errors
from handler.core.errors import InvalidRequest
from handler.core.records.work import UploadForm
from handler.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef


READ_BYTES = 1024 * 1024
# S3's parts are 5 MiB at least (but the last); a few of ours fit an output of 50,000 lines.
PART_BYTES = 8 * 1024 * 1024


class S3BatchFiles:
    def __init__(self, bucket: str, url_ttl_seconds: int, client: "S3Client | None" = None):
        self._bucket = bucket
        self._ttl = url_ttl_seconds
        self._client = client or s3_client()

    def input_lines(self, key: str, *, max_bytes: int) -> Iterator[bytes]:
        with aws_errors("Could not read the batch's input file."):
            answer = self._client.get_object(Bucket=self._bucket, Key=key)
        body = answer["Body"]
        if answer["ContentLength"] > max_bytes:  # refused before a byte of it is read
            body.close()
            raise InvalidRequest(
                f"The input file is {answer['ContentLength']} bytes, over the "
                f"{max_bytes}-byte limit of a batch.",
                param="input",
            )
        with aws_errors("Could not read the batch's input file."):
            # JSONL ends its lines with \n (a \r before it is dropped); read a MiB at a time.
            for line in body.iter_lines(chunk_size=READ_BYTES):
                yield line.removesuffix(b"\r")

    def write_input(self, key: str, data: bytes) -> None:
        self._put(key, data, "Could not store the batch's input.")

    def write_output(self, key: str, lines: Iterable[bytes]) -> None:
        """One put if the file is small; else a multipart upload of parts of ``PART_BYTES``,
        sent as they fill (aborted if anything fails, and expired by the bucket's rule if
        even that fails)."""
        failure = "Could not write the batch's output file."
        part = bytearray()
        upload: _Multipart | None = None
        try:
            for line in lines:
                part += line
                if len(part) >= PART_BYTES:
                    upload = upload or _Multipart(self._client, self._bucket, key, failure)
                    upload.send(part)  # sent before it returns: the buffer is reused
                    part.clear()
            if upload is None:
                self._put(key, bytes(part), failure)
                return
            if part:
                upload.send(part)
            upload.complete()
        except BaseException:
            if upload is not None:
                upload.abort()
            raise

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


class _Multipart:
    def __init__(self, client: "S3Client", bucket: str, key: str, failure: str):
        self._client, self._bucket, self._key, self._failure = client, bucket, key, failure
        with aws_errors(failure):
            self._id = client.create_multipart_upload(
                Bucket=bucket, Key=key, ContentType="application/jsonl"
            )["UploadId"]
        self._parts: list[CompletedPartTypeDef] = []

    def send(self, data: bytearray) -> None:
        number = len(self._parts) + 1
        with aws_errors(self._failure):
            etag = self._client.upload_part(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._id,
                PartNumber=number,
                Body=cast(bytes, data),  # botocore takes a bytearray (the stubs say bytes)
            )["ETag"]
        self._parts.append({"ETag": etag, "PartNumber": number})

    def complete(self) -> None:
        with aws_errors(self._failure):
            self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._id,
                MultipartUpload={"Parts": self._parts},
            )

    def abort(self) -> None:
        try:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._id
            )
        except Exception:  # noqa: BLE001 - the first failure is the one to report
            logger.exception("could not abort an output upload", key=self._key)
