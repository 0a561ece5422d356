"""The S3 prefix of asynchronous SageMaker invocations, on moto and on a stubbed client."""

import boto3
import pytest
from botocore.stub import Stubber

from handler.aws.clients import s3_client
from handler.core.errors import StorageError
from handler.stores.staging import S3AsyncStore


@pytest.mark.usefixtures("aws")
def test_bodies_go_under_the_prefix_and_missing_results_read_as_none() -> None:
    bucket = "test-imagesbucket"
    store = S3AsyncStore(bucket)
    location = store.put("input/req_1/0.json", b'{"prompt": "a fox"}')
    assert location == f"s3://{bucket}/sagemaker-async/input/req_1/0.json"
    assert store.location("input/req_1/0.json") == location
    assert store.read(location) == b'{"prompt": "a fox"}'
    assert store.read(f"s3://{bucket}/sagemaker-async/output/not-yet.out") is None
    key = "sagemaker-async/input/req_1/0.json"
    assert s3_client().get_object(Bucket=bucket, Key=key)["Body"].read() == b'{"prompt": "a fox"}'


def test_a_refused_read_is_a_storage_error_not_a_result_still_to_come() -> None:
    client = boto3.client("s3", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("get_object", "AccessDenied", http_status_code=403)
        with pytest.raises(StorageError):
            S3AsyncStore("b", client=client).read("s3://b/sagemaker-async/output/x.out")


@pytest.mark.parametrize("location", ["https://b/x", "s3://b/", "s3:///key", "b/key"])
def test_only_s3_locations_are_read(location: str) -> None:
    client = boto3.client("s3", region_name="us-east-1")
    with pytest.raises(StorageError):
        S3AsyncStore("b", client=client).read(location)
