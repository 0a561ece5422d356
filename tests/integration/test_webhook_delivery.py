"""Webhook delivery over real sockets: to the address that was checked, within one deadline
for the whole attempt, and apart from the work, so a receiver that hangs delays no one else."""

import base64
import hashlib
import hmac
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler import container
from handler.core.webhooks import Resolver, WebhookMessage, signing_secret
from handler.main import webhook as queue_functions
from handler.main.webhook import lambda_handler as webhook_handler
from handler.stores.webhook_errors import WebhookFailed, WebhookRefused
from handler.stores.webhooks import WebhookSender
from tests.integration.conftest import Local
from tests.support import FakeLambdaContext, new_key

MASTER = "master"


class Receiver:
    """A raw HTTP receiver on 127.0.0.1 whose answer the test decides: a status at once, a
    byte at a time (``trickle``), or nothing until ``release``."""

    def __init__(self, *, status: int = 204, trickle: bool = False, hold: bool = False):
        self.requests: list[bytes] = []
        self.accepted = threading.Event()
        self.release = threading.Event()
        self.sent = 0
        self.answer = f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n".encode()
        self._trickle, self._hold = trickle, hold
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            with connection:
                self.accepted.set()
                self.requests.append(self._read(connection))
                if self._hold:
                    self.release.wait(timeout=120)
                try:
                    for index in range(len(self.answer)):
                        connection.sendall(self.answer[index : index + 1])
                        self.sent += 1
                        if self._trickle and self.release.wait(timeout=1):
                            break
                except OSError:
                    pass  # the sender gave up and closed: what the trickle test wants

    @staticmethod
    def _read(connection: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            data += connection.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += connection.recv(65536)
        return head + b"\r\n\r\n" + body

    def close(self) -> None:
        self.release.set()
        self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self._server.close()
        self._thread.join(timeout=10)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.close()


def _receiver(receivers: list[Receiver], **kwargs: bool | int) -> Receiver:
    receiver = Receiver(**kwargs)  # type: ignore[arg-type]
    receivers.append(receiver)
    return receiver


def _pointing(table: dict[str, list[str]]) -> Resolver:
    def resolve(host: str, port: int) -> Sequence[str]:
        return table.get(host, [])

    return resolve


def _message(url: str) -> WebhookMessage:
    return WebhookMessage(url, "key1", "msg_job_1", '{"type":"job.succeeded","data":{}}')


def test_the_attempt_goes_to_the_checked_address_signed_for_the_host(
    receivers: list[Receiver],
) -> None:
    # Given a host name that resolves to the receiver's address
    receiver = _receiver(receivers)
    sender = WebhookSender(
        lambda: MASTER, allow_local=True, resolver=_pointing({"hooks.example": ["127.0.0.1"]})
    )
    # When a webhook to that host is delivered
    sender.deliver(_message(f"http://hooks.example:{receiver.port}/imagegate"))
    # Then the connection went to the address resolved once, with the host's name on it
    [request] = receiver.requests
    head, _, body = request.partition(b"\r\n\r\n")
    lines = [line.decode().split(": ", 1) for line in head.split(b"\r\n")[1:]]
    headers = {name.lower(): value for name, value in lines}
    assert head.startswith(b"POST /imagegate HTTP/1.1")
    assert headers["host"] == f"hooks.example:{receiver.port}"
    # And it is signed the Standard Webhooks way with the key's secret
    key = base64.b64decode(signing_secret(MASTER, "key1").removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert headers["webhook-id"] == "msg_job_1"


def test_a_host_that_now_resolves_to_a_private_address_is_not_contacted(
    receivers: list[Receiver],
) -> None:
    # Given a host checked public at submission that now resolves to a private address
    receiver = _receiver(receivers)
    sender = WebhookSender(lambda: MASTER, resolver=_pointing({"hooks.example": ["127.0.0.1"]}))
    # When its webhook is delivered, deployed
    with pytest.raises(WebhookRefused):
        sender.deliver(_message(f"https://hooks.example:{receiver.port}/h"))
    # Then nothing connected to it
    assert not receiver.accepted.is_set()


def test_a_host_that_does_not_resolve_now_is_tried_again_later() -> None:
    sender = WebhookSender(lambda: MASTER, resolver=_pointing({}))
    with pytest.raises(WebhookFailed, match="does not resolve"):
        sender.deliver(_message("https://hooks.example/h"))


def test_a_receiver_that_trickles_holds_the_attempt_only_to_its_deadline(
    receivers: list[Receiver],
) -> None:
    # Given a receiver that sends its answer one byte a second (about forty seconds in all)
    receiver = _receiver(receivers, trickle=True)
    sender = WebhookSender(
        lambda: MASTER,
        allow_local=True,
        resolver=_pointing({"localhost": ["127.0.0.1"]}),
        attempt_seconds=1.5,
    )
    # When the webhook is delivered with a deadline of 1.5 s for the whole attempt
    with pytest.raises(WebhookFailed):
        sender.deliver(_message(f"http://localhost:{receiver.port}/h"))
    # Then the attempt ended before the answer did: every read was bounded by what was left
    assert receiver.accepted.is_set()
    assert receiver.sent < len(receiver.answer)


@pytest.mark.parametrize("status", [500, 404, 302])
def test_an_answer_other_than_2xx_is_a_failed_attempt(
    receivers: list[Receiver], status: int
) -> None:
    receiver = _receiver(receivers, status=status)
    sender = WebhookSender(
        lambda: MASTER, allow_local=True, resolver=_pointing({"localhost": ["127.0.0.1"]})
    )
    with pytest.raises(WebhookFailed, match=str(status)):
        sender.deliver(_message(f"http://localhost:{receiver.port}/h"))


def test_a_hanging_receiver_delays_no_other_keys_job(
    local: Local, receivers: list[Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a receiver that takes a delivery and does not answer until the test lets it, and
    # attempts allowed to wait that long (so nothing but the design decides the outcome)
    hanging = _receiver(receivers, hold=True)
    patient = WebhookSender(container.webhook_master_secret, allow_local=True, attempt_seconds=120)
    monkeypatch.setattr(queue_functions, "webhook_sender", lambda: patient)
    body = {"prompt": "a lighthouse", "size": "256x256"}
    _, first = new_key(balance=10**6)
    _, second = new_key(balance=10**6)
    # When one key's job finishes and its webhook goes to the hanging receiver
    queued = local.client.post(
        "/v1/images/generations",
        headers={**first, "Prefer": "respond-async"},
        json={**body, "webhook_url": f"http://localhost:{hanging.port}/h"},
    )
    assert queued.status_code == 202, queued.text
    assert hanging.accepted.wait(timeout=60), "the webhook was never attempted"
    # Then the job reads as finished while its webhook is still being delivered
    first_job = local.client.get(f"/v1/images/jobs/{queued.json()['id']}", headers=first)
    assert first_job.json()["status"] == "succeeded"
    # And another key's job runs to the end meanwhile
    other = local.client.post(
        "/v1/images/generations", headers={**second, "Prefer": "respond-async"}, json=body
    )
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            job = local.client.get(f"/v1/images/jobs/{other.json()['id']}", headers=second)
            if job.json()["status"] == "succeeded":
                done.set()
            done.wait(timeout=0.1)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    finished = done.wait(timeout=60)
    done.set()
    assert finished, "the other key's job waited for the webhook"
    assert not hanging.release.is_set()  # the first delivery was held the whole time
    # And once the receiver answers, the delivery completes
    hanging.release.set()
    local.wait()
    assert len(hanging.requests) == 1


def test_a_failed_delivery_is_a_record_to_retry_and_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a receiver that is down (nothing listens on its port)
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    sender = WebhookSender(lambda: MASTER, allow_local=True)
    monkeypatch.setattr(queue_functions, "webhook_sender", lambda: sender)
    message = WebhookMessage(f"http://127.0.0.1:{port}/hook", "key1", "msg_1", "{}")
    event = {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "r-1",
                "body": message.encode(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:webhooks",
                "awsRegion": "us-east-1",
            }
        ]
    }
    # When the webhook function takes its one message
    answer = webhook_handler(event, cast(LambdaContext, FakeLambdaContext()))
    # Then the message is reported for a retry (no function error for an alarm to count),
    # and the log has one line saying why, no traceback
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    [failed] = [record for record in caplog.records if record.getMessage() == "webhook failed"]
    assert failed.levelname == "WARNING"
    assert failed.message_id == "msg_1"  # type: ignore[attr-defined]
    assert not [record for record in caplog.records if record.exc_info]
