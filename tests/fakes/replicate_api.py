"""A local stand-in for Replicate's HTTP API, faithful to the parts imagegate uses.

Routes: ``POST /v1/models/{owner}/{name}/predictions`` (official models),
``POST /v1/predictions`` (versioned models), ``GET /v1/predictions/{id}``,
``POST /v1/predictions/{id}/cancel`` and ``GET /files/...`` (the output files).

``Prefer: wait=N`` holds the create call until the prediction is done or N seconds passed,
then answers with the prediction as it stands, as Replicate does. What a prediction does is
chosen by a marker in its prompt:

    (none)          succeeds at once; without Prefer: wait, on the first poll
    [starting]      answers "starting" even when asked to wait, "processing" on the
                    first poll, and succeeds on the second
    [slow]          never finishes; only a cancel ends it
    [fail]          fails with an error message
    [canceled]      ends canceled (by someone else)
    [nsfw]          fails with "All generated images contained NSFW content", as flux's and
                    SDXL's code do when the checker removes every image of a prediction
    [nsfw-odd]      as [nsfw] when the seed is odd
    [nsfw-empty]    succeeds with an empty output (other models' way of saying the same)
    [throttle]      the create call gets 429
    [outage]        the create call gets 503
    [gone]          succeeds, but the output file is already deleted (404)
    [busy-poll]     never finishes, and every poll gets 429 with Retry-After: 0
    [stubborn]      never finishes, and the first cancel of it gets 503

Every request, prediction and cancellation is recorded for the tests to inspect.
"""

import email
import io
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

from PIL import Image

FLUX_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
FLUX_INPUTS = {
    "prompt",
    "aspect_ratio",
    "num_outputs",
    "num_inference_steps",
    "seed",
    "output_format",
    "output_quality",
    "megapixels",
    "go_fast",
    "disable_safety_checker",
}
SDXL_INPUTS = {
    "image",
    "mask",
    "prompt_strength",
    "prompt",
    "negative_prompt",
    "width",
    "height",
    "num_outputs",
    "num_inference_steps",
    "guidance_scale",
    "seed",
    "scheduler",
    "refine",
    "apply_watermark",
    "disable_safety_checker",
}
TERMINAL = ("succeeded", "failed", "canceled")
PREDICT_TIME = 1.25  # seconds of GPU each succeeded prediction reports


@dataclass
class Prediction:
    id: str
    model: str
    version: str | None
    input: dict[str, Any]
    status: str = "starting"
    output: list[str] | None = None
    error: str | None = None
    polls: int = 0
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def scenario(self) -> str:
        match = re.search(r"\[([a-z-]+)\]", str(self.input.get("prompt", "")))
        return match[1] if match else ""

    def as_json(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version or "official",
            "input": self.input,
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "logs": "",
            # What Replicate bills a finished prediction for (its API's ``metrics``).
            "metrics": {"predict_time": PREDICT_TIME} if self.status == "succeeded" else {},
            "created_at": "2026-11-21T08:00:00.000Z",
            "urls": {
                "get": f"{base_url}/v1/predictions/{self.id}",
                "cancel": f"{base_url}/v1/predictions/{self.id}/cancel",
            },
        }


class FakeReplicate:
    def __init__(self, token: str = "r8_fake_token") -> None:
        self.token = token
        self.predictions: dict[str, Prediction] = {}
        self.cancellations: list[str] = []
        self.cancel_attempts: list[str] = []
        self.uploads: dict[str, bytes] = {}
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> "FakeReplicate":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def running(self) -> list[Prediction]:
        """Predictions nobody collected or cancelled: what a GPU would still be burning."""
        return [p for p in self.predictions.values() if p.status not in TERMINAL]

    # -- behaviour -----------------------------------------------------------------------

    def _advance(self, prediction: Prediction) -> None:
        """One step of a prediction's life, per poll (or per create when waiting)."""
        scenario = prediction.scenario
        if prediction.status in TERMINAL or scenario in ("slow", "busy-poll", "stubborn"):
            return
        if scenario == "starting" and prediction.polls < 2:
            prediction.status = "processing" if prediction.polls else "starting"
            return
        if scenario == "fail":
            prediction.status, prediction.error = "failed", "CUDA error: out of memory"
            return
        if scenario == "canceled":
            prediction.status = "canceled"
            return
        seed = int(prediction.input.get("seed", 0))
        if scenario == "nsfw" or (scenario == "nsfw-odd" and seed % 2):
            prediction.status = "failed"
            prediction.error = (
                "All generated images contained NSFW content. Try running it again with a "
                "different prompt."
            )
            return
        prediction.status = "succeeded"
        prediction.output = self._render(prediction)

    def _render(self, prediction: Prediction) -> list[str]:
        given = prediction.input
        count = int(given.get("num_outputs", 1))
        seed = int(given.get("seed", 0))
        if prediction.scenario == "nsfw-empty":
            return []
        if "aspect_ratio" in given:
            width, height = _flux_dimensions(given["aspect_ratio"], given.get("megapixels", "1"))
            extension = given.get("output_format", "webp")
        else:
            width, height = int(given.get("width", 1024)), int(given.get("height", 1024))
            extension = "png"
        urls = []
        for index in range(count):
            name = f"{prediction.id}/out-{index}.{extension}"
            colour = ((seed * 37 + index * 91) % 256, (seed * 11) % 256, 120)
            buffer = io.BytesIO()
            pil_format = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[extension]
            Image.new("RGB", (width, height), colour).save(buffer, format=pil_format)
            prediction.files[name] = buffer.getvalue()
            urls.append(f"{self.base_url}/files/{name}")
        return urls

    # -- HTTP ----------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake._record(self, None)
                if self.path.startswith("/files/"):
                    fake._serve_file(self)
                    return
                match = re.fullmatch(r"/v1/predictions/([\w-]+)", self.path)
                if not fake._authorised(self) or match is None:
                    return
                with fake._lock:
                    prediction = fake.predictions.get(match[1])
                    if prediction is None:
                        _problem(self, 404, "Not found", "No such prediction")
                        return
                    if prediction.scenario == "busy-poll":
                        _problem(self, 429, "Throttled", "Slow down", {"Retry-After": "0"})
                        return
                    prediction.polls += 1
                    fake._advance(prediction)
                    body = prediction.as_json(fake.base_url)
                _json(self, 200, body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.path == "/v1/files":
                    fake._record(self, None)
                    if fake._authorised(self):
                        fake._upload(self, body)
                    return
                payload = json.loads(body or b"{}")
                fake._record(self, payload)
                if not fake._authorised(self):
                    return
                cancel = re.fullmatch(r"/v1/predictions/([\w-]+)/cancel", self.path)
                if cancel:
                    fake._cancel(self, cancel[1])
                    return
                official = re.fullmatch(r"/v1/models/([\w.-]+)/([\w.-]+)/predictions", self.path)
                if official:
                    fake._create(self, f"{official[1]}/{official[2]}", None, payload)
                elif self.path == "/v1/predictions" and "version" in payload:
                    fake._create(self, "versioned", payload["version"], payload)
                else:
                    _problem(self, 404, "Not found", f"No route for {self.path}")

        return Handler

    def _record(self, handler: BaseHTTPRequestHandler, payload: Any) -> None:
        with self._lock:
            self.requests.append(
                {
                    "method": handler.command,
                    "path": handler.path,
                    "prefer": handler.headers.get("prefer"),
                    "json": payload,
                }
            )

    def _authorised(self, handler: BaseHTTPRequestHandler) -> bool:
        if handler.headers.get("authorization") != f"Bearer {self.token}":
            _problem(handler, 401, "Unauthenticated", "You did not pass a valid token")
            return False
        return True

    def _create(
        self, handler: BaseHTTPRequestHandler, model: str, version: str | None, payload: Any
    ) -> None:
        given = payload.get("input") or {}
        allowed = FLUX_INPUTS if "flux" in model else SDXL_INPUTS
        unknown = sorted(set(given) - allowed)
        if "prompt" not in given or unknown:
            detail = f"input: unexpected {unknown}" if unknown else "input: prompt is required"
            _problem(handler, 422, "Input validation failed", detail)
            return
        prompt = str(given["prompt"])
        if "[throttle]" in prompt:
            _problem(
                handler,
                429,
                "Request was throttled",
                "Your rate limit resets in ~7s",
                {"Retry-After": "7"},
            )
            return
        if "[outage]" in prompt:
            _problem(handler, 503, "Service Unavailable", "Try again shortly")
            return
        prediction = Prediction(id=uuid4().hex[:20], model=model, version=version, input=given)
        with self._lock:
            self.predictions[prediction.id] = prediction
        wait = _prefer_wait(handler.headers.get("prefer"))
        if wait and prediction.scenario != "starting":
            if prediction.scenario in ("slow", "busy-poll", "stubborn"):
                time.sleep(wait)  # held the full wait, still running
            else:
                with self._lock:
                    self._advance(prediction)
        with self._lock:
            body = prediction.as_json(self.base_url)
        _json(handler, 201, body)

    def _cancel(self, handler: BaseHTTPRequestHandler, prediction_id: str) -> None:
        with self._lock:
            prediction = self.predictions.get(prediction_id)
            if prediction is None:
                _problem(handler, 404, "Not found", "No such prediction")
                return
            self.cancel_attempts.append(prediction_id)
            if prediction.scenario == "stubborn" and self.cancel_attempts.count(prediction_id) == 1:
                _problem(handler, 503, "Service Unavailable", "Try again")
                return
            self.cancellations.append(prediction_id)
            if prediction.status not in TERMINAL:
                prediction.status = "canceled"
            body = prediction.as_json(self.base_url)
        _json(handler, 200, body)

    def _upload(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        """Replicate's files API: one multipart part named "content"."""
        envelope = f"Content-Type: {handler.headers['content-type']}\r\n\r\n".encode() + body
        [part] = [p for p in email.message_from_bytes(envelope).walk() if p.get_filename()]
        file_id = uuid4().hex[:12]
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        with self._lock:
            self.uploads[file_id] = data
        _json(
            handler,
            201,
            {
                "id": file_id,
                "name": part.get_filename(),
                "content_type": part.get_content_type(),
                "size": len(data),
                "etag": file_id,
                "checksums": {},
                "metadata": {},
                "created_at": "2026-11-21T08:00:00.000Z",
                "expires_at": None,
                "urls": {"get": f"{self.base_url}/v1/files/{file_id}/download"},
            },
        )

    def _serve_file(self, handler: BaseHTTPRequestHandler) -> None:
        name = handler.path.removeprefix("/files/")
        prediction = self.predictions.get(name.split("/")[0])
        data = prediction.files.get(name) if prediction else None
        if data is None or (prediction is not None and prediction.scenario == "gone"):
            handler.send_response(404)
            handler.end_headers()
            return
        handler.send_response(200)
        extension = name.rsplit(".", 1)[-1]
        handler.send_header("content-type", f"image/{'jpeg' if extension == 'jpg' else extension}")
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def _flux_dimensions(aspect_ratio: str, megapixels: str) -> tuple[int, int]:
    """Flux's own rounding: the ratio at about the megapixels, sides multiples of 16."""
    if aspect_ratio not in FLUX_RATIOS:
        raise ValueError(aspect_ratio)
    across, down = (int(side) for side in aspect_ratio.split(":"))
    pixels = float(megapixels) * 1024 * 1024
    width = math.sqrt(pixels * across / down)
    height = pixels / width
    return round(width / 16) * 16, round(height / 16) * 16


def _prefer_wait(header: str | None) -> int:
    if not header:
        return 0
    match = re.fullmatch(r"wait(?:=(\d+))?", header.strip())
    if match is None:
        return 0
    return min(int(match[1] or 60), 60)


def _json(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _problem(
    handler: BaseHTTPRequestHandler,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    data = json.dumps({"title": title, "detail": detail, "status": status}).encode()
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("content-type", "application/problem+json")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
