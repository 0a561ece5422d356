"""API keys and their accounts in DynamoDB, one item per id: a key's policy, per-minute rate
windows and budget; an account's balance, open reservations, caps and card. An account's
first key is the account's item (every key from before accounts is one), so one conditional
write checks and spends them together (``money/stored/charges.py``); a key an account made
later is an item of its own, spending from the account's in one transaction."""

from typing import TYPE_CHECKING

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import Transaction, TransactionRefused, item_of, plain
from handler.aws.errors import aws_errors
from handler.aws.expressions import attr
from handler.aws.writes import Check, Put
from handler.core.errors import NotFound, StorageError
from handler.core.keys import account_of
from handler.core.records.charges import Charge
from handler.core.records.keys import (
    DEFAULT_POLICY,
    ApiKeyRecord,
    AuditEntry,
    KeyPolicy,
    TopUpSource,
)
from handler.money.spend import NO_CAP
from handler.money.stored.account_items import (
    RELOAD_ATTRIBUTES,
    account_attributes,
    opening_entry,
)
from handler.money.stored.entry_items import audit_put, entry_put

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    Item = dict[str, AttributeValueTypeDef]

# Per-minute windows: what is left of the key's requests and images in that unix minute.
REQUESTS_LEFT = "rl_r_"
IMAGES_LEFT = "rl_i_"
# Spend windows: what is left of the key's daily or monthly cap ("sl_d20261201").
SPEND_LEFT = "sl_"
# What the key's card reloads took this month ("rt_m202612").
RELOADED = "rt_"


class DynamoDBKeyStore:
    def __init__(self, table: str, ledger_table: str, client: "DynamoDBClient | None" = None):
        self._table = table
        self._ledger = ledger_table  # where a new key's opening balance is entered
        self._client = client or dynamodb_client()

    def get(self, key_id: str) -> ApiKeyRecord | None:
        return spender(self._client, self._table, key_id)

    def create(self, record: ApiKeyRecord, *, actor: str, source: TopUpSource) -> None:
        """An account's first key is the account's item, its balance the ledger's opening
        top-up; a later key of the account holds no money, and is made only while its
        account exists and is not suspended."""
        policy = record.policy
        if policy.models is not None and not policy.models:  # such a key is useless
            raise ValueError("a key must be allowed at least one model")
        first = record.account_id == record.key_id
        if not first and record.balance:
            raise ValueError("a key that is not its account's first holds no balance")
        item = {
            "key_id": record.key_id,
            "account_id": record.account_id,
            "name": record.name,
            "secret_hash": record.secret_hash,
            "status": record.status,
            "created_at": record.created_at,
            "rpm": policy.requests_per_minute,
            "ipm": policy.images_per_minute,
            "spent": 0,
            "daily_cap": _cap(policy.daily_spend_cap),
            "monthly_cap": _cap(policy.monthly_spend_cap),
            "models": policy.models,
            "expires_at": policy.expires_at,
        }
        if first:
            item |= account_attributes(record.balance, policy)
        put = Put(self._table, item_of(item)).require(attr("key_id").not_exists())
        created = AuditEntry(
            record.key_id,
            "created",
            actor,
            record.created_at * 1000,
            {"name": record.name, "balance": record.balance, "source": source},
        )
        transaction = Transaction().add({"key": put.write(), **audit_put(self._ledger, created)})
        if not first:
            account = Check(self._table, {"key_id": record.account_id})
            account.require(attr("key_id").exists() & attr("suspended_at").not_exists())
            transaction.add({"account": account.write()})
        if record.balance:
            opening = opening_entry(
                record.account_id, record.balance, record.created_at, actor, source
            )
            transaction.add(entry_put(self._ledger, opening))
        try:
            transaction.commit(self._client, f"Could not create key {record.key_id}.")
        except TransactionRefused as refused:
            if "account" in refused.failed:
                raise NotFound(
                    f"No account with id {record.account_id} that may make keys (it does not "
                    "exist, or it is suspended).",
                    param="account_id",
                ) from None
            raise StorageError(f"Key {record.key_id} exists already.") from None

    def list(self) -> list[ApiKeyRecord]:
        """Every key (an account opened by sign-up has an item and no key), with its
        account's money."""
        items: dict[str, Item] = {}
        with aws_errors("Could not list API keys."):
            for page in self._client.get_paginator("scan").paginate(TableName=self._table):
                items.update((item["key_id"]["S"], item) for item in page["Items"])
        records = [
            key_record(item, None if account_of(key_id) == key_id else _account(items, key_id))
            for key_id, item in items.items()
            if "secret_hash" in item
        ]
        return sorted(records, key=lambda record: record.created_at)


def _account(items: "dict[str, Item]", key_id: str) -> ApiKeyRecord | None:
    account = items.get(account_of(key_id))
    return None if account is None else key_record(account)


def spender(client: "DynamoDBClient", table: str, key_id: str) -> ApiKeyRecord | None:
    """A key as it spends: its item, with its account's where that is another; None if
    either is missing."""
    key = _item(client, table, key_id)
    account_id = account_of(key_id)
    if key is None or account_id == key_id:
        return None if key is None else key_record(key)
    account = _item(client, table, account_id)
    return None if account is None else key_record(key, key_record(account))


def _item(client: "DynamoDBClient", table: str, key_id: str) -> "Item | None":
    with aws_errors("Could not read the API key."):
        # Consistent: a revoked key must stop working on the next request.
        return client.get_item(
            TableName=table, Key={"key_id": {"S": key_id}}, ConsistentRead=True
        ).get("Item")


def key_record(item: "Item", account: ApiKeyRecord | None = None) -> ApiKeyRecord:
    """A key's item (with its ``account``'s, where that is another) as a record; a key made
    before billing reads as unfunded, default limits. An account's item that is no key (its
    account was signed up for) has no name, secret or status: it reads as a key no secret
    opens."""
    values = plain(item)
    windows: dict[str, dict[int, int]] = {REQUESTS_LEFT: {}, IMAGES_LEFT: {}}
    spend_left: dict[str, int] = {}
    for name, value in values.items():
        for prefix, window in windows.items():
            if name.startswith(prefix):
                window[int(name.removeprefix(prefix))] = value
        if name.startswith(SPEND_LEFT):
            spend_left[name.removeprefix(SPEND_LEFT)] = value
    return ApiKeyRecord(
        key_id=values["key_id"],
        name=values.get("name", ""),
        secret_hash=values.get("secret_hash", ""),
        status=values.get("status", "revoked"),
        created_at=values["created_at"],
        policy=KeyPolicy(
            requests_per_minute=values.get("rpm", DEFAULT_POLICY.requests_per_minute),
            images_per_minute=values.get("ipm", DEFAULT_POLICY.images_per_minute),
            models=values.get("models"),
            expires_at=values.get("expires_at"),
            daily_spend_cap=_uncapped(values.get("daily_cap")),
            monthly_spend_cap=_uncapped(values.get("monthly_cap")),
            low_balance_threshold=values.get("low_balance"),
            webhook_url=values.get("webhook_url"),
            **{name: values.get(name) for name in RELOAD_ATTRIBUTES},
        ),
        reload_pending="reload_pending" in values,
        low_balance_alerted="low_balance_alerted" in values,
        spend_left=spend_left,
        caps_stored="daily_cap" in values and "monthly_cap" in values,
        balance=values.get("balance", 0),
        spent=values.get("spent", 0),
        revoked_at=values.get("revoked_at"),
        stripe_customer=values.get("stripe_customer"),
        previous_secret_hash=values.get("previous_secret_hash"),
        previous_until=values.get("previous_until"),
        suspended_at=values.get("suspended_at"),
        account=account,
        requests_left=windows[REQUESTS_LEFT],
        images_left=windows[IMAGES_LEFT],
        open_reservations={
            request_id: charge_of(request_id, entry["M"])
            for request_id, entry in item.get("reservations", {"M": {}})["M"].items()
        },
    )


def _cap(cap: int | None) -> int:
    return NO_CAP if cap is None else cap


def _uncapped(stored: int | None) -> int | None:
    return None if stored is None or stored >= NO_CAP else stored


def charge_attributes(charge: Charge) -> dict[str, object]:
    """A charge as stored in a key's open reservations (by request id) and in usage records."""
    return {
        "model": charge.model,
        "size": charge.size,
        "n": charge.n,
        "unit_price": charge.unit_price,
        "reserved_at": charge.reserved_at,
        "end_user": charge.end_user,
    }


def charge_of(request_id: str, entry: "Item") -> Charge:
    values = plain(entry)
    return Charge(
        request_id=request_id,
        model=values["model"],
        size=values["size"],
        n=values["n"],
        unit_price=values["unit_price"],
        reserved_at=values["reserved_at"],
        end_user=values.get("end_user"),
    )
