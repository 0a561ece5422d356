"""Accounts in DynamoDB: an account's item in the keys table (``money/stored/keys.py``), its
keys through the table's ``by_account`` index, and the operator's suspensions, each written
with its audit entry in the ledger table."""

from typing import TYPE_CHECKING, Any

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import (
    ConditionFailed,
    Transaction,
    TransactionRefused,
    batch_items,
    conditional,
    item_of,
    plain,
)
from handler.aws.errors import aws_errors
from handler.aws.expressions import attr
from handler.aws.writes import Put, Update
from handler.core.errors import NotFound
from handler.core.keys import account_of
from handler.core.outcomes import AccountRefused
from handler.core.records.accounts import Account
from handler.core.records.keys import DEFAULT_POLICY, ApiKeyRecord, AuditEntry, TopUpSource
from handler.core.records.members import Membership
from handler.money.spend import NO_CAP
from handler.money.stored.account_items import account_attributes, opening_entry
from handler.money.stored.entry_items import audit_put, entry_put
from handler.money.stored.keys import key_record
from handler.stores.members import OWNERS, joining

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

INDEX = "by_account"
AWAITING_APPROVAL = "awaiting approval"
_SHOWN = "key_id, account_name, #name, created_at, balance, spent, reservations, suspended_at, "
_SHOWN += "suspended_because"


class DynamoDBAccounts:
    def __init__(
        self,
        keys_table: str,
        ledger_table: str,
        members_table: str,
        client: "DynamoDBClient | None" = None,
    ):
        self._keys = keys_table
        self._ledger = ledger_table
        self._members = members_table
        self._client = client or dynamodb_client()

    def open(
        self,
        account_id: str,
        name: str,
        owner: Membership | None,
        *,
        balance: int,
        pending: bool,
        source: TopUpSource,
        actor: str | None = None,
        now: int | None = None,
    ) -> Account:
        """A new account with no key yet, and its first owner (None: one an operator opens,
        its owner invited), in one transaction; its balance, if any, its ledger's opening
        top-up; ``pending``: suspended until an operator approves it."""
        if owner is not None:
            now, actor = owner.joined_at, f"member:{owner.email}"
        if now is None or actor is None:
            raise ValueError("an account an operator opens names its actor and time")
        item = {
            "key_id": account_id,
            "account_id": account_id,
            "account_name": name,
            "created_at": now,
            "spent": 0,
            "daily_cap": NO_CAP,
            "monthly_cap": NO_CAP,
            **account_attributes(balance, DEFAULT_POLICY),
            **({"suspended_at": now, "suspended_because": AWAITING_APPROVAL} if pending else {}),
            OWNERS: 0 if owner is None else 1,  # the first member: counted as the item is put
        }
        put = Put(self._keys, item_of(item)).require(attr("key_id").not_exists())
        created = AuditEntry(account_id, "created", actor, now * 1000, {"name": name})
        transaction = Transaction().add(
            {"account": put.write(), **audit_put(self._ledger, created)}
        )
        if owner is not None:
            transaction.add(joining(self._members, self._keys, owner, counted=False))
        if balance:
            opening = opening_entry(account_id, balance, now, actor, source)
            transaction.add(entry_put(self._ledger, opening))
        try:
            transaction.commit(self._client, f"Could not open account {account_id}.")
        except TransactionRefused as refused:
            raise AccountRefused(refused.failed) from None
        return self.get(account_id)

    def get(self, account_id: str) -> Account:
        with aws_errors("Could not read the account."):
            item = self._client.get_item(
                TableName=self._keys,
                Key={"key_id": {"S": account_id}},
                ConsistentRead=True,
                ProjectionExpression=_SHOWN,
                ExpressionAttributeNames={"#name": "name"},
            ).get("Item")
        if item is None or account_of(account_id) != account_id:
            raise NotFound(f"No account with id {account_id}.", param="account_id")
        return account_of_item(item)

    def all(self) -> "list[Account]":
        """Every account, oldest first."""
        found: list[Account] = []
        with aws_errors("Could not list the accounts."):
            pages = self._client.get_paginator("scan").paginate(
                TableName=self._keys,
                ProjectionExpression=_SHOWN,
                ExpressionAttributeNames={"#name": "name"},
                FilterExpression="attribute_exists(balance)",
            )
            for page in pages:
                found.extend(account_of_item(item) for item in page["Items"])
        return sorted(found, key=lambda account: (account.created_at, account.account_id))

    def keys(self, account_id: str) -> "list[ApiKeyRecord]":
        """The account's keys, oldest first (its own item, where no key, left out)."""
        with aws_errors("Could not list the account's keys."):
            pages = self._client.get_paginator("query").paginate(
                TableName=self._keys,
                IndexName=INDEX,
                KeyConditionExpression="account_id = :account",
                ExpressionAttributeValues={":account": {"S": account_id}},
            )
            ids = [{"key_id": item["key_id"]} for page in pages for item in page["Items"]]
        items = batch_items(self._client, self._keys, ids, "Could not read the account's keys.")
        keys = [key_record(item) for item in items if "secret_hash" in item]
        return sorted(keys, key=lambda key: (key.created_at, key.key_id))

    def suspend(self, account_id: str, *, reason: str, actor: str, now: int) -> Account:
        """Every key of the account stops working (401 ``account_suspended``) until it is
        reinstated; what its requests already reserved still settles."""
        change = Update(self._keys, {"key_id": account_id})
        change.set("suspended_at", now).set("suspended_because", reason)
        details = {"reason": reason}
        return self._change(
            account_id, change, AuditEntry(account_id, "suspended", actor, now * 1000, details)
        )

    def reinstate(self, account_id: str, *, actor: str, now: int) -> Account:
        change = Update(self._keys, {"key_id": account_id})
        change.remove("suspended_at", "suspended_because")
        return self._change(
            account_id, change, AuditEntry(account_id, "reinstated", actor, now * 1000)
        )

    def _change(self, account_id: str, change: Update, audit: AuditEntry) -> Account:
        if account_of(account_id) != account_id:  # a key's id, not an account's
            raise NotFound(f"No account with id {account_id}.", param="account_id")
        change.require(attr("balance").exists())  # an account's item: not a key's, nor none
        transaction = Transaction().add(
            {"account": change.write(), **audit_put(self._ledger, audit)}
        )
        try:
            transaction.commit(self._client, f"Could not change account {account_id}.")
        except TransactionRefused:
            raise NotFound(f"No account with id {account_id}.", param="account_id") from None
        return self.get(account_id)


def account_of_item(item: "dict[str, Any]") -> Account:
    values = plain(item)
    reservations = values.get("reservations", {})
    return Account(
        account_id=values["key_id"],
        name=values.get("account_name", values.get("name", "")),
        created_at=values["created_at"],
        balance=values.get("balance", 0),
        held=sum(r["n"] * r["unit_price"] for r in reservations.values()),
        spent=values.get("spent", 0),
        suspended_at=values.get("suspended_at"),
        suspended_because=values.get("suspended_because"),
    )


def backfill_account(client: "DynamoDBClient", table: str, key_id: str) -> bool:
    """Name the account of a key from before accounts (``core/keys.py``: the key's own id),
    so the ``by_account`` index lists it; True if this call did. Nothing else moves: the key's
    item is its account's, its balance and ledger already the account's."""
    backfill = (
        Update(table, {"key_id": key_id})
        .set("account_id", account_of(key_id))
        .require(attr("key_id").exists() & attr("account_id").not_exists())
    )
    try:
        with conditional(f"Could not name the account of key {key_id}."):
            client.update_item(**backfill.request())
    except ConditionFailed:
        return False  # named already (or gone)
    return True
