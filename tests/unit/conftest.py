"""The unit tier runs without the network and without moto: a test that opens a connection
fails, so what needs a socket lives in ``tests/integration``."""

import socket
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a unit test opened a connection; it belongs in tests/integration")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
