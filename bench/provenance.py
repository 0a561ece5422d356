"""What signing every image with a C2PA manifest adds.

1. The first image a process signs: c2pa-python imported (a native library of some 20 MB)
   and the signer made from the credentials, then that image signed.
2. Each image after, warm: a 1024x1024 picture of the preview backend with a photograph's
   grain over it (so it weighs what a model's picture weighs: the manifest's hash reads
   every byte), in PNG, JPEG and WebP, and the bytes the manifest adds.
3. An edit's image whose input carries a manifest of its own: that input read and kept as an
   ingredient.

Signed with the local test chain (ES256, as a deployment's P-256 certificate signs). Run:

    .venv/bin/python bench/provenance.py [--repeat 25]
"""

import argparse
import io
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    from handler.core.model_card import OutputFormat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' provider signature, for the edit case

from bench.timing import timed  # noqa: E402

SIZE = "1024x1024"
FORMATS: tuple["OutputFormat", ...] = ("png", "jpeg", "webp")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=25)
    repeat = parser.parse_args().repeat

    from handler.backends.encoding import encode
    from handler.backends.preview import PreviewBackend
    from handler.cli.signing_chain import local_chain
    from handler.core.catalog import load_catalog
    from handler.core.deadline import Deadline
    from handler.core.image_decoding import inspect
    from handler.core.image_input import ImageInputs
    from handler.core.schemas import GenerationRequest
    from handler.core.spec_rules import build_spec
    from handler.provenance.c2pa_signing import C2paProvenance

    catalog = load_catalog(ROOT / "infra" / "catalog.json")
    secret = local_chain()[0].to_json()
    signer = C2paProvenance(lambda: secret)

    def spec(fmt: "OutputFormat") -> Any:
        request = GenerationRequest(prompt="a lighthouse", size=SIZE, output_format=fmt)
        return build_spec(catalog.get("imagegate-preview"), request, "req_bench")

    drawn = PreviewBackend().generate(spec("png"), Deadline.after(60))[0]
    grain = Image.effect_noise((1024, 1024), 48).convert("RGB")
    picture = Image.blend(Image.open(io.BytesIO(drawn.data)).convert("RGB"), grain, 0.35)
    made = {
        fmt: replace(drawn, data=encode(picture, fmt, 90), output_format=fmt) for fmt in FORMATS
    }
    print(f"C2PA signing, {SIZE} preview pictures, ES256, {repeat} runs (median, p90)")
    start = time.perf_counter()
    signer.sign(spec("png"), [made["png"]])
    first = (time.perf_counter() - start) * 1000
    print(f"  first image of a process (import, signer, sign): {first:7.1f} ms")
    from tests.provenance import provider_signed  # c2pa is imported by now

    for fmt, image in made.items():
        asked = spec(fmt)
        median, p90 = timed(lambda: signer.sign(asked, [image]), repeat)  # noqa: B023
        added = len(signer.sign(spec(fmt), [image])[0].data) - len(image.data)
        print(
            f"  {fmt:4} {len(image.data) / 1e6:5.2f} MB: {median:6.1f} ms {p90:6.1f} ms  "
            f"+{added} bytes"
        )
    signed_input = provider_signed(made["jpeg"].data)
    edit = replace(spec("jpeg"), inputs=ImageInputs(images=(inspect(signed_input, "image"),)))
    median, p90 = timed(lambda: signer.sign(edit, [made["jpeg"]]), repeat)
    print(f"  jpeg, its signed input kept:  {median:6.1f} ms {p90:6.1f} ms")


if __name__ == "__main__":
    main()
