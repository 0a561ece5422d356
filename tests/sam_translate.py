"""template.yaml as CloudFormation sees it after the SAM transform, for the checks that must
see the generated resources (SAM's roles, stages, permissions): ``cfn-lint`` reads the SAM
template without transforming it, and would miss a cycle or a bad reference SAM introduces.

Run by ``make template`` with the SAM CLI's own Python (its samtranslator), offline: the
managed policies SAM attaches are named, never looked up.

    .tools/sam/bin/python tests/sam_translate.py template.yaml build/template.json
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform


class NamedPolicies:
    """SAM asks for a managed policy's ARN by name; offline, it is built from the name."""

    def load(self) -> dict[str, str]:
        return _Arns()


class _Arns(dict[str, str]):
    def __missing__(self, name: str) -> str:
        prefix = "service-role/" if name.startswith("AWSLambda") else ""
        return f"arn:aws:iam::aws:policy/{prefix}{name}"

    def get(self, name: str, default: Any = None) -> str:  # type: ignore[override,unused-ignore]
        return self[name]


def main(source: str, target: str) -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # its pseudo parameters need one
    template = yaml_parse(Path(source).read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":  # as `sam package` leaves it
            resource["Properties"]["CodeUri"] = "s3://packaged/imagegate.zip"
    translated = transform(template, {}, NamedPolicies())
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(translated, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
