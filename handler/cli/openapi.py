"""Prints the API's OpenAPI document; CI compares it with the checked-in openapi.json."""

import json
from pathlib import Path

from handler.admin_app import ADMIN
from handler.app import PUBLIC, create_app
from handler.member_app import MEMBER

CHECKED_IN = Path(__file__).parents[1] / "api" / "openapi.json"


def render() -> str:
    """One document for the three functions' routes: the public app's, the admin app's and
    the members' app's."""
    everything = create_app((*PUBLIC, *ADMIN, *MEMBER))
    return json.dumps(everything.openapi(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
