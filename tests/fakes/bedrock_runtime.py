"""A local stand-in for Amazon Bedrock's runtime, ``POST /model/{modelId}/invoke``, speaking
its REST-JSON wire format to the real boto3 client (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``),
and ``ApplyGuardrail`` beside it (``guardrails.py``):
SigV4 for the ``bedrock`` service required, errors as ``x-amzn-ErrorType`` and a message.

Bodies are checked as AWS's model parameter pages document them, for Stability's models
(Stable Image Ultra and Core, SD3.5 Large) and Amazon's (Nova Canvas); an image is a
deterministic picture of (prompt, seed) at the size the model would make. A marker in the
prompt chooses what happens instead:

    [filter]          refused by the content filters (Stability: a 200 with a finish reason;
                      Amazon: a ValidationException)
    [filter-odd]      as [filter] for the output image when the seed is odd
    [inference-error] Stability's "Inference error" finish reason
    [throttle] [not-ready] [quota] [unavailable] [internal] [model-timeout] [model-error]
    [denied] [gone]   the matching error (ThrottlingException 429, …)
    [refuse-field]    a ValidationException naming #/negative_prompt
    [slow]            answers after 30 s

Every invocation is recorded for the tests to inspect.
"""

import base64
import hashlib
import io
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from PIL import Image, ImageDraw

from tests.fakes import guardrails
from tests.fakes.local_server import PostServer

STABILITY = {
    "stability.stable-image-ultra-v1:1": {"image": True, "mode": False, "webp": False},
    "stability.stable-image-core-v1:1": {"image": False, "mode": False, "webp": False},
    "stability.sd3-5-large-v1:0": {"image": True, "mode": True, "webp": True},
}
AMAZON = {"amazon.nova-canvas-v1:0"}
# Stability's output for each aspect ratio.
RATIO_SIZES = {
    "1:1": (1024, 1024),
    "16:9": (1344, 768),
    "21:9": (1536, 640),
    "2:3": (832, 1216),
    "3:2": (1216, 832),
    "4:5": (896, 1088),
    "5:4": (1088, 896),
    "9:16": (768, 1344),
    "9:21": (640, 1536),
}
ERRORS = {
    "[throttle]": (429, "ThrottlingException", "Too many requests, please wait."),
    "[not-ready]": (429, "ModelNotReadyException", "Model is not ready to serve."),
    "[quota]": (400, "ServiceQuotaExceededException", "Quota exceeded."),
    "[unavailable]": (503, "ServiceUnavailableException", "Service unavailable."),
    "[internal]": (500, "InternalServerException", "Internal server error."),
    "[model-timeout]": (408, "ModelTimeoutException", "Model processing timed out."),
    "[model-error]": (424, "ModelErrorException", "The model failed."),
    "[refuse-field]": (
        400,
        "ValidationException",
        "Malformed input request: #/negative_prompt: expected maxLength: 10, actual: 12",
    ),
    "[denied]": (
        403,
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
    ),
    "[gone]": (
        404,
        "ResourceNotFoundException",
        "This model version has reached the end of its life.",
    ),
}
BLOCKED = (
    "This request has been blocked by our content filters. Our filters automatically flagged "
    "this prompt because it may conflict our AUP or AWS Responsible AI Policy."
)
_PATH = re.compile(r"/model/(?P<model>[^/]+)/invoke")


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def picture(prompt: str, seed: int, size: tuple[int, int], image_format: str = "png") -> bytes:
    """The same bytes for the same (prompt, seed, size, format): a colour field and a bar."""
    digest = hashlib.sha256(f"{prompt}|{seed}".encode()).digest()
    image = Image.new("RGB", size, tuple(digest[:3]))
    bar = (digest[3] % 100) / 100
    ImageDraw.Draw(image).rectangle(
        (0, int(size[1] * bar), size[0], int(size[1] * bar) + 8), fill=tuple(digest[4:7])
    )
    buffer = io.BytesIO()
    image.save(buffer, format={"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[image_format])
    return buffer.getvalue()


def _decoded(value: Any, field: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(base64.b64decode(value, validate=True)))
        image.load()
    except (OSError, ValueError, TypeError):  # binascii.Error is a ValueError
        raise Refusal(400, "ValidationException", f"#/{field}: not a valid image") from None
    return image


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise Refusal(400, "ValidationException", f"Malformed input request: {message}")


def _only(body: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(body) - allowed)
    _need(not extra, f"{where}: extraneous key [{extra[0] if extra else ''}] is not permitted")


def stability(model: str, body: dict[str, Any]) -> dict[str, Any]:
    rules = STABILITY[model]
    allowed = {"prompt", "negative_prompt", "aspect_ratio", "seed", "output_format"}
    if rules["image"]:
        allowed |= {"image", "strength"}
    if rules["mode"]:
        allowed.add("mode")
    _only(body, allowed, "#")
    prompt = body.get("prompt")
    _need(isinstance(prompt, str) and len(prompt) <= 10_000, "#/prompt: expected a string")
    assert isinstance(prompt, str)
    _need(len(body.get("negative_prompt", "")) <= 10_000, "#/negative_prompt: too long")
    limit = 4_294_967_294 if rules["mode"] else 4_294_967_295
    seed = body.get("seed", 0)
    _need(isinstance(seed, int) and 0 <= seed <= limit, f"#/seed: must be 0 to {limit}")
    formats = ("jpeg", "png", "webp") if rules["webp"] else ("jpeg", "png")
    image_format = body.get("output_format", "png")
    _need(image_format in formats, f"#/output_format: {image_format} is not one of {formats}")
    if "image" in body:
        _need("aspect_ratio" not in body, "#/aspect_ratio: only for text to image")
        strength = body.get("strength")
        _need(isinstance(strength, int | float) and 0 <= strength <= 1, "#/strength: 0 to 1")
        if rules["mode"]:
            _need(body.get("mode") == "image-to-image", "#/mode: image-to-image needs it")
        size = _decoded(body["image"], "image").size
        _need(min(size) >= 64, "#/image: minimum 64 pixels per side")
    else:
        _need(body.get("mode", "text-to-image") == "text-to-image", "#/mode: needs an image")
        ratio = body.get("aspect_ratio", "1:1")
        _need(ratio in RATIO_SIZES, f"#/aspect_ratio: {ratio} is not a supported ratio")
        size = RATIO_SIZES[ratio]
    seed = seed or int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4]) or 1
    if "[filter]" in prompt or ("[filter-odd]" in prompt and seed % 2):
        return {"finish_reasons": ["Filter reason: prompt"]}
    if "[inference-error]" in prompt:
        return {"finish_reasons": ["Inference error"]}
    encoded = base64.b64encode(picture(prompt, seed, size, image_format)).decode()
    return {"seeds": [seed], "finish_reasons": [None], "images": [encoded]}


def _check_size(width: Any, height: Any) -> None:
    _need(isinstance(width, int) and isinstance(height, int), "width and height are integers")
    _need(width % 16 == 0 and height % 16 == 0, "width and height must be divisible by 16")
    _need(min(width, height) >= 320 and max(width, height) <= 4096, "sides from 320 to 4096")
    _need(max(width, height) <= 4 * min(width, height), "aspect ratio from 1:4 to 4:1")
    _need(width * height < 4_194_304, "fewer than 4,194,304 pixels")


def amazon(body: dict[str, Any]) -> dict[str, Any]:
    task = body.get("taskType")
    params_name = {
        "TEXT_IMAGE": "textToImageParams",
        "IMAGE_VARIATION": "imageVariationParams",
        "INPAINTING": "inPaintingParams",
    }.get(str(task))
    _need(params_name is not None, f"#/taskType: {task} is not supported")
    assert params_name is not None
    _only(body, {"taskType", params_name, "imageGenerationConfig"}, "#")
    params = body.get(params_name) or {}
    config = body.get("imageGenerationConfig") or {}
    allowed = {"text", "negativeText"} | {
        "IMAGE_VARIATION": {"images", "similarityStrength"},
        "INPAINTING": {"image", "maskImage"},
    }.get(str(task), set())
    _only(params, allowed, f"#/{params_name}")
    text = params.get("text")
    _need(isinstance(text, str) and 1 <= len(text) <= 1024, f"#/{params_name}/text: 1 to 1024")
    assert isinstance(text, str)
    if "negativeText" in params:
        _need(1 <= len(params["negativeText"]) <= 1024, f"#/{params_name}/negativeText")
    keys = {"numberOfImages", "seed", "cfgScale", "quality", "width", "height"}
    _only(config, keys - ({"width", "height"} if task == "INPAINTING" else set()), "#/config")
    count, seed = config.get("numberOfImages", 1), config.get("seed", 12)
    _need(1 <= count <= 5, "#/imageGenerationConfig/numberOfImages: 1 to 5")
    _need(0 <= seed <= 2_147_483_646, "#/imageGenerationConfig/seed: 0 to 2147483646")
    _need(1.1 <= config.get("cfgScale", 6.5) <= 10, "#/imageGenerationConfig/cfgScale")
    _need(config.get("quality", "standard") in ("standard", "premium"), "#/quality")
    if task == "INPAINTING":
        image = _decoded(params.get("image"), f"{params_name}/image")
        mask = _decoded(params.get("maskImage"), f"{params_name}/maskImage")
        _need(mask.size == image.size, "#/inPaintingParams/maskImage: the image's size")
        colours = {colour for _, colour in mask.convert("RGB").getcolors(1 << 24) or []}
        _need(colours <= {(0, 0, 0), (255, 255, 255)}, "maskImage: pure black and white only")
        size = image.size
    else:
        size = (config.get("width", 1024), config.get("height", 1024))
        _check_size(*size)
        if task == "IMAGE_VARIATION":
            images = params.get("images") or []
            _need(1 <= len(images) <= 5, "#/imageVariationParams/images: 1 to 5")
            for image in images:
                _decoded(image, "imageVariationParams/images")
            similarity = params.get("similarityStrength", 0.7)
            _need(isinstance(similarity, int | float) and 0.2 <= similarity <= 1, "#/similarity")
    if "[filter]" in text:
        raise Refusal(400, "ValidationException", BLOCKED)
    if "[filter-odd]" in text and seed % 2:
        return {"images": [], "error": "An image was blocked by our content filters."}
    drawn = [picture(text, seed * 10 + index, size) for index in range(count)]
    return {"images": [base64.b64encode(image).decode() for image in drawn]}


class FakeBedrock(PostServer):
    def __init__(self) -> None:
        super().__init__()
        self.invocations: list[dict[str, Any]] = []
        self.failing: str | None = None  # an ERRORS marker every invocation answers with
        self.guardrail_calls: list[dict[str, Any]] = []  # ApplyGuardrail's, with answers
        self.guardrail_failing: str | None = None  # an ERRORS marker ApplyGuardrail answers
        self._lock = threading.Lock()

    def bodies(self, model: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [i["body"] for i in self.invocations if model in (None, i["model"])]

    def serve(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length)
        match = _PATH.fullmatch(request.path)
        try:
            guardrail = guardrails.PATH.fullmatch(request.path)
            if match is None and guardrail is None:
                raise Refusal(404, "UnknownOperationException", request.path)
            signature = request.headers.get("Authorization", "")
            if not (
                signature.startswith("AWS4-HMAC-SHA256 ") and "/bedrock/aws4_request" in signature
            ):
                raise Refusal(403, "UnrecognizedClientException", "The request is not signed.")
            if guardrail is not None:
                self._apply_guardrail(request, raw)
                return
            assert match is not None
            model = unquote(match["model"])
            body = json.loads(raw)
            with self._lock:
                self.invocations.append(
                    {"model": model, "body": body, "headers": dict(request.headers)}
                )
            answer = self._answer(model, body)
        except Refusal as refusal:
            self._send(request, refusal.status, {"message": refusal.message}, refusal.code)
            return
        except ValueError:
            self._send(request, 400, {"message": "Malformed input request"}, "ValidationException")
            return
        self._send(request, 200, answer)

    def _apply_guardrail(self, request: BaseHTTPRequestHandler, raw: bytes) -> None:
        body = json.loads(raw)
        try:
            if self.guardrail_failing is not None:
                raise guardrails.GuardrailRefusal(*ERRORS[self.guardrail_failing])
            answer = guardrails.apply(body)
        except guardrails.GuardrailRefusal as refusal:
            self._send(request, refusal.status, {"message": refusal.message}, refusal.code)
            return
        with self._lock:
            self.guardrail_calls.append({"path": request.path, "body": body, "answer": answer})
        self._send(request, 200, answer)

    def _answer(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        prompt = str(body.get("prompt") or "")
        for params in ("textToImageParams", "imageVariationParams", "inPaintingParams"):
            prompt = prompt or str((body.get(params) or {}).get("text", ""))
        for marker, (status, code, message) in ERRORS.items():
            if marker in prompt or marker == self.failing:
                raise Refusal(status, code, message)
        if "[slow]" in prompt:
            time.sleep(30)
        model = re.sub(r"^(us|eu|apac)\.", "", model)
        if model in STABILITY:
            return stability(model, body)
        if model in AMAZON:
            return amazon(body)
        raise Refusal(400, "ValidationException", "The provided model identifier is invalid.")

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler, status: int, body: dict[str, Any], error: str | None = None
    ) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        if error is not None:
            request.send_header("x-amzn-ErrorType", f"{error}:http://internal.amazon.com/")
        request.end_headers()
        request.wfile.write(data)
