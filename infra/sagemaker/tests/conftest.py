"""A tiny, random Stable Diffusion pipeline, built on the CPU and saved like a real model.

Nothing comes from a model hub: the components are made from small configs, the CLIP
tokenizer's vocabulary from the byte alphabet, and the whole is written with
``save_pretrained`` so ``model_fn`` loads it exactly as it loads a real model.
"""

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "infra" / "sagemaker" / "code"))


def _byte_symbols() -> list[str]:
    """CLIP's (GPT-2's) byte-level alphabet: one printable character per byte value."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    shifted = iter(range(256, 512))
    return [chr(byte) if byte in printable else chr(next(shifted)) for byte in range(256)]


def _byte_vocabulary(folder: Path) -> tuple[Path, Path]:
    symbols = _byte_symbols()
    tokens = symbols + [f"{symbol}</w>" for symbol in symbols]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab, merges = folder / "vocab.json", folder / "merges.txt"
    vocab.write_text(json.dumps({token: index for index, token in enumerate(tokens)}))
    merges.write_text("#version: 0.2\n")
    return vocab, merges


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    work = tmp_path_factory.mktemp("tiny-sd")
    vocab, merges = _byte_vocabulary(work)
    tokenizer = CLIPTokenizer(str(vocab), str(merges), model_max_length=77)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            projection_dim=32,
        )
    )
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=4,
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    saved = work / "model"
    pipeline.save_pretrained(saved)
    return saved


@pytest.fixture
def tiny_model() -> Callable[..., Any]:
    """The shipped catalog's ``sd-imagegate`` at the tiny pipeline's size and steps, with
    ``backend_params`` overridden as given: how the API sees this server."""
    sys.path.insert(0, str(ROOT))
    from handler.core.catalog import CatalogModel, load_catalog

    shipped = load_catalog(ROOT / "infra" / "catalog.json").get("sd-imagegate")

    def model(**params: Any) -> CatalogModel:
        entry = shipped.model_dump()
        (placement,) = entry["placements"]  # its one placement: this endpoint
        placement["backend_params"] = {**shipped.backend_params, **params}
        return CatalogModel.model_validate(
            {
                **entry,
                "sizes": ["64x48"],
                "default_size": "64x48",
                "steps": {"min": 1, "max": 4, "default": 4},
                "prices": {"image": {"64x48": 1}, "edit": {"64x48": 1}},
                "placements": [placement],
            }
        )

    return model
