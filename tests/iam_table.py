"""The README's table of what each function may do, rendered from template.yaml, so every IAM
claim in the README is the template's (``tests/unit/test_readme.py`` holds them equal).

    .venv/bin/python tests/iam_table.py    # prints the table to paste between the markers
"""

import json
import sys
from typing import Any

from handler.cli.template import Template
from tests.support import ROOT, function_statements

START, END = "<!-- iam: rendered by tests/iam_table.py -->", "<!-- /iam -->"


def _resource(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_resource(item) for item in value)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = str(value["Fn::Sub"])
        for part in ("arn:${AWS::Partition}:", "${AWS::Region}:", "${AWS::AccountId}:"):
            text = text.replace(part, "")
        return text.replace("${ImagesBucket.Arn}", "ImagesBucket").replace(".Arn}", "}")
    return json.dumps(value)


def render(template: Template) -> str:
    lines = ["| function | may | on |", "|---|---|---|"]
    for name, resource in template.body["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        role = resource["Properties"].get("Role", {}).get("Fn::GetAtt", [""])[0]
        if role.endswith("FunctionRole") and role not in template.body["Resources"]:
            lines.append(f"| {name} | what {role.removesuffix('Role')} may (its role) | |")
            continue
        for statement in function_statements(template.body["Resources"], name):
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            condition = " (source `imagegate`)" if "events:PutEvents" in actions else ""
            if "If" in statement:
                condition += f" (when {statement['If']})"
            where = _resource(statement["Resource"])
            lines.append(f"| {name} | `{'`, `'.join(actions)}`{condition} | {where} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render(Template.load(ROOT / "template.yaml")) + "\n")
