"""Generated images in a private S3 bucket, handed out as presigned GET URLs."""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from handler.aws.clients import s3_client
from handler.aws.errors import aws_errors
from handler.core.inference import GeneratedImage
from handler.core.model_card import CONTENT_TYPES, FILE_EXTENSIONS

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

_MAX_PARALLEL_PUTS = 8


class S3ImageStore:
    def __init__(self, bucket: str, url_ttl_seconds: int, client: "S3Client | None" = None):
        self._bucket = bucket
        self._ttl = url_ttl_seconds
        self._client = client or s3_client()
        self._pool = ThreadPoolExecutor(_MAX_PARALLEL_PUTS, thread_name_prefix="image-put")

    def put_images(self, prefix: str, images: Sequence[GeneratedImage]) -> list[str]:
        keys = [
            f"{prefix}/{index}.{FILE_EXTENSIONS[image.output_format]}"
            for index, image in enumerate(images)
        ]
        if len(images) == 1:
            self._put(keys[0], images[0])
        else:
            # boto3 clients are thread-safe; n puts in parallel cost one put's latency. The
            # pool lives as long as the store: starting threads per request costs more than
            # a small put.
            list(self._pool.map(self._put, keys, images))
        return keys

    def _put(self, key: str, image: GeneratedImage) -> None:
        with aws_errors("Could not store the generated image."):
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=image.data,
                ContentType=CONTENT_TYPES[image.output_format],
                Metadata={"seed": str(image.seed), "size": f"{image.width}x{image.height}"},
            )

    def get(self, key: str) -> bytes:
        with aws_errors("Could not read a stored image."):
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()

    def presign(self, key: str) -> str:
        # Signing makes no request, but it needs credentials, which can be missing or expired.
        with aws_errors("Could not sign the image URL."):
            return self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self._bucket, "Key": key},
                ExpiresIn=self._ttl,
            )
