"""An account's moderation on its item in the keys table: ``moderation``, its policy (absent:
the operator's default), and ``violations``, how many of its requests were blocked. A change
of policy is written with its audit entry in the ledger table."""

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import Transaction, TransactionRefused, plain
from handler.aws.errors import aws_errors
from handler.aws.expressions import attr
from handler.aws.writes import Update
from handler.core.errors import NotFound
from handler.core.keys import account_of
from handler.core.records.keys import AuditEntry
from handler.core.records.moderation import ModerationPolicy
from handler.money.stored.entry_items import audit_put

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class DynamoDBAccountModeration:
    def __init__(self, keys_table: str, ledger_table: str, client: "DynamoDBClient | None" = None):
        self._keys = keys_table
        self._ledger = ledger_table
        self._client = client or dynamodb_client()

    def policy(self, account_id: str) -> ModerationPolicy | None:
        return self.standing(account_id)[0]

    def standing(self, account_id: str) -> tuple[ModerationPolicy | None, int]:
        values = self._read(account_id)
        moderation = values.get("moderation")
        policy = None if moderation is None else ModerationPolicy(**moderation)
        return policy, int(values.get("violations", 0))

    def set_policy(
        self, account_id: str, policy: ModerationPolicy | None, *, actor: str, now: int
    ) -> None:
        change = Update(self._keys, {"key_id": account_id})
        if policy is None:
            change.remove("moderation")
        else:
            change.set("moderation", asdict(policy))
        change.require(attr("balance").exists())  # an account's item: not a key's, nor none
        details = {"policy": "default" if policy is None else _said(policy)}
        audit = AuditEntry(account_id, "moderation_changed", actor, now * 1000, details)
        transaction = Transaction().add(
            {"account": change.write(), **audit_put(self._ledger, audit)}
        )
        try:
            transaction.commit(self._client, f"Could not change account {account_id}.")
        except TransactionRefused:
            raise NotFound(f"No account with id {account_id}.", param="account_id") from None

    def count_violation(self, account_id: str) -> int:
        counted = Update(self._keys, {"key_id": account_id}).add("violations", 1)
        counted.require(attr("balance").exists())
        with aws_errors("Could not count the account's blocked request."):
            answer = self._client.update_item(**counted.request(ReturnValues="UPDATED_NEW"))
        return int(plain(answer["Attributes"])["violations"])

    def _read(self, account_id: str) -> dict[str, Any]:
        if account_of(account_id) != account_id:
            raise NotFound(f"No account with id {account_id}.", param="account_id")
        with aws_errors("Could not read the account's moderation."):
            item = self._client.get_item(
                TableName=self._keys,
                Key={"key_id": {"S": account_id}},
                ProjectionExpression="moderation, violations",
            ).get("Item", {})
        return plain(item)


def _said(policy: ModerationPolicy) -> str:
    strengths = ", ".join(f"{k} {v}" for k, v in sorted(policy.strengths.items())) or "none"
    return f"{strengths}; outputs {'checked' if policy.check_outputs else 'unchecked'}"
