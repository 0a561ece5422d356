"""What ``samconfig.toml`` says a deploy uses, so the commands run around ``sam deploy``
(``make deploy``) act on the same stack and region as it."""

import tomllib
from pathlib import Path
from typing import Any

SAMCONFIG = Path("samconfig.toml")


def deploy_setting(name: str, path: Path = SAMCONFIG) -> str | None:
    """A ``sam deploy`` setting (``region``, ``stack_name``): its deploy section's, else the
    global one's, else None."""
    try:
        config: dict[str, Any] = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    default = config.get("default", {})
    for section in ("deploy", "global"):
        value = default.get(section, {}).get("parameters", {}).get(name)
        if value is not None:
            return str(value)
    return None
