"""What ``samconfig.toml`` says a deploy uses, so the commands run around ``sam deploy``
(``make deploy``: preflight before, prune-versions after) act on the same stack, region and
parameters as it."""

import shlex
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

SAMCONFIG = Path("samconfig.toml")


@dataclass(frozen=True)
class SamConfig:
    """The settings ``sam deploy`` takes from samconfig.toml (its default environment)."""

    stack_name: str | None = None
    region: str | None = None
    profile: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "SamConfig":
        if not path.exists():
            return cls()
        default = tomllib.loads(path.read_text()).get("default", {})
        # The deploy command's own settings win over the global ones, as sam reads them.
        settings = {
            **default.get("global", {}).get("parameters", {}),
            **default.get("deploy", {}).get("parameters", {}),
        }
        return cls(
            settings.get("stack_name"),
            settings.get("region"),
            settings.get("profile"),
            parameter_overrides(settings.get("parameter_overrides", [])),
        )

    def given(self, parameters: str | None) -> "SamConfig":
        """These settings with parameters given on the command line besides (they win)."""
        if not parameters:
            return self
        return replace(self, overrides={**self.overrides, **parameter_overrides(parameters)})


def parameter_overrides(given: str | list[str]) -> dict[str, str]:
    """``Key=Value Other="a value"`` (or a list of such), and the
    ``ParameterKey=Key,ParameterValue=Value`` form sam also takes."""
    pairs = shlex.split(given) if isinstance(given, str) else given
    overrides: dict[str, str] = {}
    for pair in pairs:
        if pair.startswith("ParameterKey="):
            key, _, value = pair.removeprefix("ParameterKey=").partition(",ParameterValue=")
        else:
            key, _, value = pair.partition("=")
        overrides[key] = value
    return overrides
