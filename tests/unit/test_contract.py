import subprocess
import sys

from handler.api.openapi import CHECKED_IN, render


def test_openapi_document_matches_the_code() -> None:
    assert CHECKED_IN.read_text() == render(), "API changed: run `make openapi` and review"


def test_generation_schema_lists_every_documented_parameter() -> None:
    import json

    schema = json.loads(render())["components"]["schemas"]["GenerationRequest"]
    assert set(schema["properties"]) == {
        "prompt",
        "model",
        "n",
        "size",
        "quality",
        "response_format",
        "output_format",
        "output_compression",
        "background",
        "style",
        "moderation",
        "user",
        "seed",
        "steps",
        "num_inference_steps",
        "guidance_scale",
        "negative_prompt",
        "stream",
        "partial_images",
    }
    assert schema["required"] == ["prompt"]


def test_lambda_code_imports_no_dev_only_package() -> None:
    # Given a fresh interpreter that imports only the Lambda entry point
    code = (
        "import sys, handler.main\n"
        "dev = {'moto', 'uvicorn', 'typer', 'rich', 'yaml', 'pytest', 'openai', 'handler.cli'}\n"
        "print(sorted(m for m in sys.modules if m in dev or m.split('.')[0] in dev))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    # Then nothing dev-only came along
    assert result.stdout.strip() == "[]"


def test_openapi_promises_no_fastapi_style_errors() -> None:
    document = render()
    assert '"422"' not in document
    assert "HTTPValidationError" not in document
