"""``imagegate keys`` against a keys table (moto), as an operator would run it."""

import json
import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from handler.cli.main import app

KEYS = ["keys", "--table", "test-keystable"]
URL = "/v1/images/generations"


def test_create_list_revoke(client: TestClient) -> None:
    runner = CliRunner()
    # Given a key created from the command line
    created = runner.invoke(app, [*KEYS, "create", "--name", "ci robot"])
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
    assert not (tmp_path / "state" / "local.json").exists()


def test_stack_option_finds_the_table_from_its_outputs(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "handler.cli.main.stack_outputs", lambda name: {"KeysTableName": "test-keystable"}
    )
    created = CliRunner().invoke(app, ["keys", "--stack", "imagegate", "create", "--name", "x"])
    assert created.exit_code == 0, created.output
    listed = CliRunner().invoke(app, ["keys", "--stack", "imagegate", "list", "--json"])
    assert [row["name"] for row in json.loads(listed.stdout)] == ["x"]


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
