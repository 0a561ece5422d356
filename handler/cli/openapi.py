"""Prints the API's OpenAPI document; CI compares it with the checked-in openapi.json."""

import json
from pathlib import Path

from handler.app import create_app

CHECKED_IN = Path(__file__).parents[1] / "api" / "openapi.json"


def render() -> str:
    return json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
