"""Whether a resource policy of template.yaml lets a service principal act, evaluated as IAM
does for the parts the template uses: Allow and Deny, Action and Resource wildcards, service
and federated principals, and the conditions StringEquals, ArnEquals, ArnLike, Bool and
ForAnyValue:StringLike, with the template's !Sub written out for one
deployed stack. The tests ask it what AWS will be asked: may CloudWatch, publishing this
stack's alarm, use the topic's key? May S3, for another bucket, feed the batch queue?"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

STACK = "imagegate"
ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK_UUID = "0c9a8f40-1111-2222-3333-444455556666"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/{STACK_UUID}"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackName": STACK,
    "AWS::StackId": STACK_ID,
}


def written_out(value: Any, names: dict[str, str] | None = None) -> Any:
    """A template value as the deployed stack has it: pseudo parameters, !Sub (with its
    variables), !Select of !Split, and !Ref of ``names``."""
    names = {**PSEUDO, **(names or {})}
    if isinstance(value, list):
        return [written_out(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return names[value["Ref"]]
    if "Fn::Sub" in value:
        text, variables = value["Fn::Sub"], {}
        if isinstance(text, list):
            text, variables = text
        known = {**names, **{k: written_out(v, names) for k, v in variables.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda m: known[m.group(1)], text)
    if "Fn::Select" in value:
        index, items = value["Fn::Select"]
        return written_out(items, names)[int(index)]
    if "Fn::Split" in value:
        delimiter, text = value["Fn::Split"]
        return str(written_out(text, names)).split(delimiter)
    return {key: written_out(item, names) for key, item in value.items()}


@dataclass(frozen=True)
class Request:
    service: str  # the calling principal, e.g. "cloudwatch.amazonaws.com" (or a federation's)
    action: str
    context: Mapping[
        str, str | list[str]
    ]  # aws:SourceArn, aws:SourceAccount, ...; lists many-valued


def allows(document: dict[str, Any], request: Request, names: dict[str, str]) -> bool:
    statements = [written_out(s, names) for s in document["Statement"]]
    matching = [s for s in statements if _applies(s, request)]
    if any(s["Effect"] == "Deny" for s in matching):
        return False
    return any(s["Effect"] == "Allow" for s in matching)


def _applies(statement: dict[str, Any], request: Request) -> bool:
    principal = statement["Principal"]
    services = [] if principal == "*" else principal.get("Service", principal.get("Federated"))
    if principal != "*" and request.service not in _listed(services):
        return False
    if not any(fnmatchcase(request.action, a) for a in _listed(statement["Action"])):
        return False
    return all(
        _holds(operator, key, expected, request.context)
        for operator, tests in statement.get("Condition", {}).items()
        for key, expected in tests.items()
    )


def _holds(operator: str, key: str, expected: Any, context: Mapping[str, str | list[str]]) -> bool:
    if key not in context:
        return False
    actual, options = context[key], _listed(expected)
    if operator == "ForAnyValue:StringLike":
        return any(fnmatchcase(value, option) for value in _listed(actual) for option in options)
    if isinstance(actual, list):
        raise AssertionError(f"{operator} of the many-valued {key}")
    if operator in ("StringEquals", "ArnEquals", "Bool"):
        return actual in options
    if operator == "ArnLike":
        return any(fnmatchcase(actual, option) for option in options)
    raise AssertionError(f"no evaluation for {operator}")


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def grants(document: dict[str, Any], action: str, resource: str, names: dict[str, str]) -> bool:
    """Whether an identity-based policy (no principal, no condition) allows ``action`` on
    ``resource``."""
    statements = [written_out(s, names) for s in document["Statement"]]
    matching = [
        s
        for s in statements
        if any(fnmatchcase(action, a) for a in _listed(s["Action"]))
        and any(fnmatchcase(resource, r) for r in _listed(s["Resource"]))
    ]
    if any(s["Effect"] == "Deny" for s in matching):
        return False
    return any(s["Effect"] == "Allow" for s in matching)
