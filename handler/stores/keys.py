"""API keys in DynamoDB, one item per key id."""

from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError

from handler.core.errors import NotFound, StorageError
from handler.core.ports import ApiKeyRecord, KeyStatus
from handler.stores.clients import dynamodb_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


class DynamoDBKeyStore:
    def __init__(self, table: str, client: "DynamoDBClient | None" = None):
        self._table = table
        self._client = client or dynamodb_client()

    def get(self, key_id: str) -> ApiKeyRecord | None:
        try:
            # Consistent: a revoked key must stop working on the next request.
            item = self._client.get_item(
                TableName=self._table, Key={"key_id": {"S": key_id}}, ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("Could not read the API key.") from exc
        return None if item is None else _record(item)

    def create(self, record: ApiKeyRecord) -> None:
        item: dict[str, AttributeValueTypeDef] = {
            "key_id": {"S": record.key_id},
            "name": {"S": record.name},
            "secret_hash": {"S": record.secret_hash},
            "status": {"S": record.status},
            "created_at": {"N": str(record.created_at)},
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(key_id)",
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"Could not create key {record.key_id}.") from exc

    def list(self) -> list[ApiKeyRecord]:
        records: list[ApiKeyRecord] = []
        try:
            for page in self._client.get_paginator("scan").paginate(TableName=self._table):
                records.extend(_record(item) for item in page["Items"])
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("Could not list API keys.") from exc
        return sorted(records, key=lambda record: record.created_at)

    def revoke(self, key_id: str, *, at: int) -> ApiKeyRecord:
        try:
            attributes = self._client.update_item(
                TableName=self._table,
                Key={"key_id": {"S": key_id}},
                UpdateExpression=(
                    "SET #status = :revoked, revoked_at = if_not_exists(revoked_at, :at)"
                ),
                ConditionExpression="attribute_exists(key_id)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":revoked": {"S": "revoked"}, ":at": {"N": str(at)}},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise NotFound(f"No API key with id {key_id}.", param="key_id") from exc
            raise StorageError(f"Could not revoke key {key_id}.") from exc
        except BotoCoreError as exc:
            raise StorageError(f"Could not revoke key {key_id}.") from exc
        return _record(attributes)


def _record(item: "dict[str, AttributeValueTypeDef]") -> ApiKeyRecord:
    revoked_at = item.get("revoked_at")
    return ApiKeyRecord(
        key_id=item["key_id"]["S"],
        name=item["name"]["S"],
        secret_hash=item["secret_hash"]["S"],
        status=cast(KeyStatus, item["status"]["S"]),
        created_at=int(item["created_at"]["N"]),
        revoked_at=int(revoked_at["N"]) if revoked_at else None,
    )
