"""``imagegate keys`` against a keys table (moto), as an operator would run it."""

import json
import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from handler import accounts_container
from handler.cli.main import app

TABLES = [
    "--table",
    "test-keystable",
    "--usage-table",
    "test-usagetable",
    "--ledger-table",
    "test-ledgertable",
]
KEYS = ["keys", *TABLES]
URL = "/v1/images/generations"


def _create(*options: str) -> str:
    created = CliRunner().invoke(app, [*KEYS, "create", *options])
    assert created.exit_code == 0, created.output
    plaintext: str = created.stdout.strip().splitlines()[-1]
    return plaintext


def _bearer(plaintext: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plaintext}"}


def test_create_list_revoke(client: TestClient) -> None:
    runner = CliRunner()
    # Given a key created from the command line
    created = runner.invoke(app, [*KEYS, "create", "--name", "ci robot", "--balance", "1.00"])
    assert created.exit_code == 0, created.output
    plaintext = created.stdout.strip().splitlines()[-1]
    assert plaintext.startswith("ig_")
    headers = {"Authorization": f"Bearer {plaintext}"}
    # Then it works, and list shows it without its secret
    assert client.post(URL, headers=headers, json={"prompt": "a fox"}).status_code == 200
    listed = runner.invoke(app, [*KEYS, "list", "--json"])
    [row] = json.loads(listed.stdout)
    assert (row["name"], row["status"]) == ("ci robot", "active")
    assert plaintext.split("_", 2)[2] not in listed.stdout
    # When it is revoked (by its full key here; the key id works too)
    revoked = runner.invoke(app, [*KEYS, "revoke", plaintext])
    assert revoked.exit_code == 0, revoked.output
    # Then its next request is refused
    assert client.post(URL, headers=headers, json={"prompt": "a fox"}).status_code == 401
    listed = runner.invoke(app, [*KEYS, "list", "--json"])
    assert json.loads(listed.stdout)[0]["status"] == "revoked"


def test_balance_top_up_show_and_usage(client: TestClient) -> None:
    runner = CliRunner()
    # Given a key with no balance: its first request is refused before any work, at no cost
    plaintext = _create("--name", "shop")
    key_id = plaintext.split("_")[1]
    refused = client.post(URL, headers=_bearer(plaintext), json={"prompt": "a fox"})
    assert refused.status_code == 402
    assert refused.json()["error"]["type"] == "insufficient_quota"
    # When it is topped up by 0.01 (10,000 micro-units; a 1024x1024 preview image is 4,000)
    topped = runner.invoke(app, [*KEYS, "topup", key_id, "0.01"])
    assert topped.exit_code == 0, topped.output
    assert "balance 0.01" in topped.output
    # Then two images fit and a third does not
    ok = client.post(URL, headers=_bearer(plaintext), json={"prompt": "a fox", "n": 2})
    assert ok.status_code == 200, ok.text
    assert (ok.json()["cost"], ok.json()["remaining_balance"]) == (8000, 2000)
    assert client.post(URL, headers=_bearer(plaintext), json={"prompt": "a"}).status_code == 402
    # And show and usage report it, for people and for machines
    shown = json.loads(runner.invoke(app, [*KEYS, "show", key_id, "--json"]).stdout)
    assert (shown["balance"], shown["spent"], shown["open_reservations"]) == (2000, 8000, 0)
    usage = runner.invoke(app, ["usage", *TABLES, "--key", key_id, "--json"])
    assert usage.exit_code == 0, usage.output
    [day] = json.loads(usage.stdout)
    assert (day["key_id"], day["requests"], day["images"], day["spend"]) == (key_id, 1, 2, 8000)
    as_csv = runner.invoke(app, ["usage", *TABLES, "--csv"]).stdout.splitlines()
    assert as_csv[0] == "date,key_id,requests,images,spend,refunded,failed_requests"
    assert as_csv[1].endswith(f",{key_id},1,2,8000,0,0")
    table = runner.invoke(app, ["usage", *TABLES], env={"COLUMNS": "200"})
    assert key_id in table.stdout
    assert "0.008" in table.stdout


def test_top_ups_and_adjustments_enter_the_ledger_with_their_reason(client: TestClient) -> None:
    runner = CliRunner()
    key_id = _create("--name", "shop", "--balance", "1.00").split("_")[1]
    topped = runner.invoke(app, [*KEYS, "topup", key_id, "2.50", "--reason", "invoice 7"])
    assert topped.exit_code == 0, topped.output
    adjusted = runner.invoke(app, [*KEYS, "adjust", key_id, "--reason", "goodwill", "--", "-0.75"])
    assert adjusted.exit_code == 0, adjusted.output
    assert "balance 2.75" in adjusted.output
    # An adjustment says why
    unexplained = runner.invoke(app, [*KEYS, "adjust", key_id, "1"])
    assert unexplained.exit_code != 0
    ledger = ["billing", "--table", "test-keystable", "--ledger-table", "test-ledgertable"]
    listed = runner.invoke(app, [*ledger, "transactions", key_id, "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)["data"]
    assert [(r["type"], r["amount"], r["reason"]) for r in rows] == [
        ("adjustment", -750_000, "goodwill"),
        ("topup", 2_500_000, "invoice 7"),
        ("topup", 1_000_000, None),
    ]
    assert all(r["actor"].startswith("cli:") for r in rows)
    table = runner.invoke(app, [*ledger, "transactions", key_id], env={"COLUMNS": "200"})
    assert "goodwill" in table.stdout
    audited = runner.invoke(app, [*ledger, "audit"])
    assert audited.exit_code == 0, audited.output
    assert "0 off their ledger" in audited.output


def test_rotate_gives_a_new_secret_and_keeps_the_old_one_for_its_grace(
    client: TestClient,
) -> None:
    runner = CliRunner()
    old = _create("--name", "rotating", "--balance", "1.00")
    key_id = old.split("_")[1]
    rotated = runner.invoke(app, [*KEYS, "rotate", key_id, "--grace", "600", "--json"])
    assert rotated.exit_code == 0, rotated.output
    new = json.loads(rotated.stdout)["api_key"]
    assert new.startswith(f"ig_{key_id}_")
    assert new != old
    for plaintext in (old, new):
        assert client.get("/v1/usage", headers=_bearer(plaintext)).status_code == 200
    # With no grace, the old secret stops at once
    runner.invoke(app, [*KEYS, "rotate", key_id, "--grace", "0"])
    assert client.get("/v1/usage", headers=_bearer(new)).status_code == 401


def test_update_caps_a_keys_daily_spend(client: TestClient) -> None:
    runner = CliRunner()
    plaintext = _create("--name", "capped", "--balance", "1.00", "--monthly-cap", "0.1")
    key_id = plaintext.split("_")[1]
    updated = runner.invoke(app, [*KEYS, "update", key_id, "--daily-cap", "0.008"])
    assert updated.exit_code == 0, updated.output
    shown = json.loads(runner.invoke(app, [*KEYS, "show", key_id, "--json"]).stdout)
    assert (shown["daily_spend_cap"], shown["monthly_spend_cap"]) == (8000, 100_000)
    ok = client.post(URL, headers=_bearer(plaintext), json={"prompt": "a", "n": 2})
    assert ok.status_code == 200
    refused = client.post(URL, headers=_bearer(plaintext), json={"prompt": "a"})
    assert refused.json()["error"]["code"] == "spend_limit_reached"
    runner.invoke(app, [*KEYS, "update", key_id, "--daily-cap", "none"])
    assert client.post(URL, headers=_bearer(plaintext), json={"prompt": "a"}).status_code == 200


@pytest.mark.parametrize("amount", ["-1", "abc", "0.0000001", "0", "nan"])
def test_bad_top_ups_are_refused(client: TestClient, amount: str) -> None:
    key_id = _create("--name", "x").split("_")[1]
    result = CliRunner().invoke(app, [*KEYS, "topup", key_id, "--", amount])
    assert result.exit_code != 0
    shown = json.loads(CliRunner().invoke(app, [*KEYS, "show", key_id, "--json"]).stdout)
    assert shown["balance"] == 0


def test_policy_models_and_expiry(client: TestClient) -> None:
    # A key allowed one model gets 403 for another, before any charge
    only_flux = _create("--name", "a", "--balance", "1.00", "--model", "flux-schnell")
    denied = client.post(URL, headers=_bearer(only_flux), json={"prompt": "a fox"})
    assert denied.status_code == 403
    assert (denied.json()["error"]["type"], denied.json()["error"]["param"]) == (
        "permission_error",
        "model",
    )
    # A last day already past is refused at creation: the key would never work
    past = CliRunner().invoke(
        app, [*KEYS, "create", "--name", "b", "--expires", "2020-01-01"], env={"COLUMNS": "300"}
    )
    assert past.exit_code == 2
    assert "2020-01-01 is past" in past.output
    # A key whose last day has passed is refused as expired
    expired = _create("--name", "b", "--balance", "1.00", "--expires", "9999-12-30")
    key_id = expired.split("_")[1]
    accounts_container.key_admin().update("test", key_id, {"expires_at": 86_400})
    refused = client.post(URL, headers=_bearer(expired), json={"prompt": "a fox"})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "expired_api_key"
    listed = json.loads(CliRunner().invoke(app, [*KEYS, "list", "--json"]).stdout)
    assert {row["name"]: row["status"] for row in listed} == {"a": "active", "b": "expired"}


def test_create_json_output_prints_the_key_once(client: TestClient) -> None:
    result = CliRunner().invoke(app, [*KEYS, "create", "--name", "a", "--json"])
    created = json.loads(result.stdout)
    assert result.stdout.count(created["api_key"]) == 1
    assert created["api_key"].startswith(f"ig_{created['key_id']}_")


def test_revoking_an_unknown_key_fails_clearly(client: TestClient) -> None:
    result = CliRunner().invoke(app, [*KEYS, "revoke", "0123456789abcdef"])
    assert result.exit_code == 1
    assert "No API key with id 0123456789abcdef" in result.output
    assert "Traceback" not in result.output


def test_a_target_is_required(client: TestClient) -> None:
    result = CliRunner().invoke(app, ["keys", "list"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "--local | --stack NAME | --table NAME" in result.output
    usage = CliRunner().invoke(app, ["usage", "--table", "t"], env={"COLUMNS": "300"})
    assert usage.exit_code == 2
    assert "--usage-table" in usage.output


def test_dev_on_a_busy_port_says_so(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            app,
            ["dev", "--port", str(port), "--state-dir", str(tmp_path / "state")],
            env={"COLUMNS": "300"},
        )
    assert result.exit_code == 2
    assert "pick another --port" in result.output
    assert list((tmp_path / "state").glob("local-*.json")) == []


def test_stack_option_finds_the_table_from_its_outputs(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "handler.cli.stacks.stack_outputs",
        lambda name: {
            "KeysTableName": "test-keystable",
            "UsageTableName": "test-usagetable",
            "LedgerTableName": "test-ledgertable",
        },
    )
    created = CliRunner().invoke(app, ["keys", "--stack", "imagegate", "create", "--name", "x"])
    assert created.exit_code == 0, created.output
    listed = CliRunner().invoke(app, ["keys", "--stack", "imagegate", "list", "--json"])
    assert [row["name"] for row in json.loads(listed.stdout)] == ["x"]
    # Its amounts are written in the stack's own currency
    monkeypatch.setattr("handler.cli.stacks.stack_parameters", lambda name: {"CardCurrency": "eur"})
    table = CliRunner().invoke(app, ["keys", "--stack", "imagegate", "list"])
    assert "0.00 EUR" in table.stdout


def test_dev_refuses_a_broken_catalog(tmp_path: Path) -> None:
    broken = tmp_path / "catalog.json"
    broken.write_text('{"default_model": "missing", "models": []}')
    result = CliRunner().invoke(
        app,
        ["dev", "--port", "0", "--catalog", str(broken), "--state-dir", str(tmp_path / "s")],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 2
    assert "catalog.json" in result.output
    assert not (tmp_path / "s").exists()
