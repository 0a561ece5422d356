"""What the stack lets this deployment invoke on Bedrock, read from the ARNs its IAM policy
grants (``BedrockModelArns``): which catalog models are served, and where each is invoked.

A foundation-model ARN in a region (``arn:aws:bedrock:us-west-2::foundation-model/ID``)
serves model ID there. An inference-profile ARN (``…:inference-profile/us.ID``) serves model
ID through the profile, called in the profile's region, and is preferred: Bedrock spreads
its calls over the regions the profile names (whose foundation-model ARNs the policy also
needs, usually with ``*`` for the region: those serve nothing by themselves).
"""

import re
from dataclasses import dataclass

from handler.observability import logger

_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):bedrock:(?P<region>[a-z0-9-]+|\*):(?P<account>\d{12}|\*)?:"
    r"(?P<kind>foundation-model|inference-profile)/(?P<id>[A-Za-z0-9.:_-]+)"
)
_GEOGRAPHY = re.compile(r"[a-z]+(-[a-z]+)?\.")  # us., eu., apac., us-gov., global.


@dataclass(frozen=True)
class Target:
    """How to invoke a model: the ``modelId`` to send, and the region to send it to."""

    model_id: str
    region: str


class Grants:
    def __init__(self, arns: str):
        """``arns``: comma-separated, as the stack passes them (empty: Bedrock is off)."""
        self._targets: dict[str, Target] = {}
        self._regional: dict[tuple[str, str], Target] = {}  # (model id, region) → target
        for arn in (part.strip() for part in arns.split(",")):
            if arn:
                self._add(arn)

    def target(self, model_id: str, region: str | None = None) -> Target | None:
        """Where to invoke ``model_id``: in ``region`` if a placement names one (granted
        there), else where the grants say."""
        if region is not None:
            return self._regional.get((model_id, region))
        return self._targets.get(model_id)

    def _add(self, arn: str) -> None:
        match = _ARN.fullmatch(arn)
        if match is None:
            logger.error("not a Bedrock model ARN: ignored", arn=arn)
            return
        if match["region"] == "*":
            return  # an inference profile's destinations: granted, not a place to call
        if match["kind"] == "inference-profile":
            geography = _GEOGRAPHY.match(match["id"])
            model = match["id"][geography.end() :] if geography else match["id"]
            target = Target(match["id"], match["region"])
            self._targets[model] = target
            self._regional[model, match["region"]] = target
        else:
            target = Target(match["id"], match["region"])
            self._targets.setdefault(match["id"], target)
            self._regional.setdefault((match["id"], match["region"]), target)
