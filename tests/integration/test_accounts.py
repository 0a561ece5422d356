"""Accounts: several keys spend one balance, each within its own budget, and an operator can
stop them all at once."""

import threading

import pytest
from fastapi.testclient import TestClient

from handler import accounts_container, container
from handler.config import get_settings
from handler.core.keys import account_of
from handler.core.records.keys import KeyPolicy
from handler.money.ledger import off_ledger
from handler.money.stored.accounts import DynamoDBAccounts
from tests.support import GENEROUS, assert_error, balance_of, usage_of

URL = "/v1/images/generations"
PRICE = 4000  # imagegate-preview, 1024x1024 (infra/catalog.json)


def _account(balance: int) -> tuple[str, dict[str, str]]:
    issued = accounts_container.key_admin().create("test", "first", GENEROUS, balance=balance)
    return issued.record.key_id, {"Authorization": f"Bearer {issued.plaintext}"}


def _another(account_id: str, *, daily: int | None = None) -> tuple[str, dict[str, str]]:
    policy = KeyPolicy(10_000, 100_000, daily_spend_cap=daily)
    issued = accounts_container.key_admin().create("test", "another", policy, account_id=account_id)
    return issued.record.key_id, {"Authorization": f"Bearer {issued.plaintext}"}


def _accounts() -> DynamoDBAccounts:
    return accounts_container.accounts()


def test_three_keys_spend_one_balance_at_once_and_none_passes_its_budget(
    client: TestClient,
) -> None:
    account_id, first = _account(10 * PRICE)
    budgeted, second = _another(account_id, daily=3 * PRICE)
    third_id, third = _another(account_id)
    keys = {account_id: first, budgeted: second, third_id: third}
    codes: dict[str, list[int]] = {key_id: [] for key_id in keys}

    def spend(key_id: str) -> None:
        answer = client.post(URL, headers=keys[key_id], json={"prompt": "a"})
        codes[key_id].append(answer.status_code)

    threads = [threading.Thread(target=spend, args=(key_id,)) for _ in range(17) for key_id in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    succeeded = {key_id: got.count(200) for key_id, got in codes.items()}
    assert sum(succeeded.values()) == 10  # the balance paid for ten, and no more
    assert succeeded[budgeted] <= 3  # the key's own budget held
    assert all(code in (200, 402) for got in codes.values() for code in got)
    assert balance_of(account_id) == 0 == balance_of(budgeted)
    # Each key's usage is its own; the account's ledger holds them all, and its balance
    for key_id, count in succeeded.items():
        assert sum(u.charged for u in usage_of(key_id)) == count * PRICE
    entries = container.entries().page(account_id, limit=100, before=None).entries
    assert sum(e.amount for e in entries) == 0  # 10 images' top-up, 10 charges
    assert not off_ledger(container.entries(), now_ms=2**41)


def test_a_key_past_its_budget_is_told_so_while_the_account_has_money(
    client: TestClient,
) -> None:
    account_id, _ = _account(100 * PRICE)
    _, budgeted = _another(account_id, daily=PRICE)
    assert client.post(URL, headers=budgeted, json={"prompt": "a"}).status_code == 200
    refused = client.post(URL, headers=budgeted, json={"prompt": "a"})
    assert refused.status_code == 402
    assert_error(refused.json(), type_="insufficient_quota", param=None, code="spend_limit_reached")
    assert "this key's daily spend limit" in refused.json()["error"]["message"]


def test_an_account_cap_holds_across_its_keys(client: TestClient) -> None:
    account_id, first = _account(100 * PRICE)
    admin = accounts_container.key_admin()
    admin.update("test", account_id, {"daily_spend_cap": 2 * PRICE})
    _, second = _another(account_id)
    assert client.post(URL, headers=first, json={"prompt": "a"}).status_code == 200
    assert client.post(URL, headers=second, json={"prompt": "a"}).status_code == 200
    refused = client.post(URL, headers=second, json={"prompt": "a"})
    assert refused.status_code == 402
    assert "the account's daily spend limit" in refused.json()["error"]["message"]


def test_a_suspended_accounts_keys_get_401_until_it_is_reinstated(client: TestClient) -> None:
    account_id, first = _account(100 * PRICE)
    _, second = _another(account_id)
    _accounts().suspend(account_id, reason="chargebacks", actor="test", now=1_800_000_000)
    for auth in (first, second):
        for refused in (
            client.post(URL, headers=auth, json={"prompt": "a"}),
            client.get("/v1/usage", headers=auth),
        ):
            assert refused.status_code == 401
            assert_error(
                refused.json(), type_="authentication_error", param=None, code="account_suspended"
            )
    assert balance_of(account_id) == 100 * PRICE  # refused at no cost
    _accounts().reinstate(account_id, actor="test", now=1_800_000_100)
    assert client.post(URL, headers=second, json={"prompt": "a"}).status_code == 200


def test_a_revoked_first_key_leaves_the_accounts_other_keys_working(client: TestClient) -> None:
    account_id, first = _account(100 * PRICE)
    _, second = _another(account_id)
    accounts_container.key_admin().revoke("test", account_id)
    assert client.post(URL, headers=first, json={"prompt": "a"}).status_code == 401
    assert client.post(URL, headers=second, json={"prompt": "a"}).status_code == 200


def test_the_accounts_keys_are_listed_with_it(aws: None) -> None:
    account_id, _ = _account(0)
    others = {_another(account_id)[0] for _ in range(2)}
    listed = [key.key_id for key in _accounts().keys(account_id)]
    assert listed[0] == account_id
    assert set(listed[1:]) == others
    assert all(account_of(key_id) == account_id for key_id in listed)


def test_keys_from_before_accounts_become_accounts_with_their_money_and_ledger_exactly(
    client: TestClient,
) -> None:
    """The reconciler's pass names each old key's account (its own id) and moves nothing:
    balance, holds and ledger read the same through the account, and again on a second run."""
    from handler.aws.clients import dynamodb_client
    from handler.money.reconciler import reconcile

    account_id, auth = _account(50 * PRICE)
    assert client.post(URL, headers=auth, json={"prompt": "a", "n": 2}).status_code == 200
    dynamo, table = dynamodb_client(), get_settings().keys_table
    # As the version before accounts wrote it: no account named on the item
    dynamo.update_item(
        TableName=table, Key={"key_id": {"S": account_id}}, UpdateExpression="REMOVE account_id"
    )
    before = dynamo.get_item(TableName=table, Key={"key_id": {"S": account_id}})["Item"]
    ledger = container.entries().page(account_id, limit=100, before=None).entries
    assert _accounts().keys(account_id) == []  # the index does not know it yet

    for _ in range(2):  # the migration, and the same again
        reconcile(container.charge_store(), container.entries())
        after = dynamo.get_item(TableName=table, Key={"key_id": {"S": account_id}})["Item"]
        assert after == {**before, "account_id": {"S": account_id}}

    account = _accounts().get(account_id)
    assert (account.balance, account.held, account.spent) == (48 * PRICE, 0, 2 * PRICE)
    assert container.entries().page(account_id, limit=100, before=None).entries == ledger
    assert [key.key_id for key in _accounts().keys(account_id)] == [account_id]
    # and the key spends as before
    assert client.post(URL, headers=auth, json={"prompt": "a"}).status_code == 200


def test_a_key_is_made_only_in_an_account_that_can_have_it(aws: None) -> None:
    from handler.core.errors import InvalidRequest, NotFound

    admin = accounts_container.key_admin()
    account_id, _ = _account(100 * PRICE)
    with pytest.raises(NotFound, match="No account with id 0123456789abcdef"):
        admin.create("test", "k", GENEROUS, account_id="0123456789abcdef")
    with pytest.raises(InvalidRequest, match="top up the account instead"):
        admin.create("test", "k", GENEROUS, balance=1, account_id=account_id)
    with_alert = KeyPolicy(60, 240, low_balance_threshold=PRICE)
    with pytest.raises(InvalidRequest, match="low_balance_threshold is the account's"):
        admin.create("test", "k", with_alert, account_id=account_id)
    other, _ = _another(account_id)
    with pytest.raises(InvalidRequest, match="webhook_url is the account's"):
        admin.update("test", other, {"webhook_url": "https://example.com/hook"})
    _accounts().suspend(account_id, reason="review", actor="test", now=1_800_000_000)
    with pytest.raises(NotFound, match="it is suspended"):
        _another(account_id)


def test_key_lists_show_keys_only_each_with_its_accounts_money(aws: None) -> None:
    """An account opened for its owner has an item and no key yet: the operators' lists of
    keys leave it out, and a key of it shows the account's balance."""
    opened = _accounts().open(
        "00000000000000aa",
        "Studio",
        None,
        balance=7 * PRICE,
        pending=False,
        source="admin",
        actor="test",
        now=1_800_000_000,
    )
    key_id, _ = _another(opened.account_id)
    listed = {record.key_id: record for record in container.key_store().list()}
    assert opened.account_id not in listed
    assert listed[key_id].funds.balance == 7 * PRICE
    page = accounts_container.key_admin().changes.page(limit=100, after=None)
    assert [r.funds.balance for r in page.keys if r.key_id == key_id] == [7 * PRICE]
    assert opened.account_id not in {r.key_id for r in page.keys}
