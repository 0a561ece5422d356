"""The official OpenAI JavaScript SDK (npm ``openai``, pinned in tests/e2e/js) on a stack:
images.generate by URL and inline, images.edit with a PNG file and a mask file, a streamed
generation, createVariation."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack
from tests.image_samples import picture, top_half_mask
from tests.support import ROOT, open_image

pytestmark = pytest.mark.e2e
SCRIPT = ROOT / "tests" / "e2e" / "js" / "images.mjs"
RED = (200, 30, 30)


def test_the_javascript_sdk_generates_and_edits(stack: Stack, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs Node.js (make test runs this wherever node is on PATH)")
    installed = SCRIPT.parent / "node_modules" / "openai"
    assert installed.is_dir(), "the SDK is not installed: `make test` runs `npm ci` first"
    # Given the input files a Node user would upload
    (tmp_path / "red.png").write_bytes(picture((256, 256), colour=RED))
    (tmp_path / "mask.png").write_bytes(top_half_mask(256, "alpha"))
    # When the SDK runs against the stack
    run = subprocess.run(
        [node, str(SCRIPT), str(tmp_path)],
        env={
            **os.environ,
            "IMAGEGATE_BASE_URL": stack.base_url,
            "IMAGEGATE_API_KEY": stack.api_key,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    # Then the URL fetched the image it named, with its seed and cost
    assert summary["byUrl"] == {"status": 200, "seed": 11, "cost": 500}
    by_url = open_image((tmp_path / "by-url.png").read_bytes())
    assert (by_url.size, by_url.format) == ((256, 256), "PNG")
    # And the inline image is the format and size asked for
    inline = open_image((tmp_path / "inline.webp").read_bytes())
    assert (inline.size, inline.format) == ((512, 512), "WEBP")
    assert summary["inline"] == {"format": "webp", "size": "512x512"}
    # And the edit changed only what the mask let it
    assert summary["edited"] == {"images": 1}
    edited = open_image((tmp_path / "edited.png").read_bytes()).convert("RGB")
    assert edited.getpixel((128, 60)) != RED
    assert edited.getpixel((128, 180)) == RED
    # And a streamed generation iterates its partials, then the completed image
    assert summary["streamed"] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    assert open_image((tmp_path / "streamed.png").read_bytes()).size == (1024, 1024)
    # And createVariation answers dall-e-2's default, URLs
    assert summary["varied"] == {"images": 2, "byUrl": True}
    # And a bad parameter is the SDK's error with OpenAI's fields
    assert summary["refused"] == {"status": 400, "code": "invalid_value", "param": "size"}
