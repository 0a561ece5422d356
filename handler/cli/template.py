"""Creates the template's DynamoDB tables, SQS queues and S3 buckets on a local AWS stand-in.

``template.yaml`` stays the one source of truth: the local stack reads its resources and the
functions' environment from it instead of keeping a second description.
"""

from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from handler.cli.provision import create_bucket, create_queue, create_table, queue_arn

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient

# Resources not made with the tables and queues; they resolve to "" and the local stack
# provides what they would (the webhook signing secret, say) another way, the members' pool
# included (``members.create_pools``, where the stack plays Cognito).
NOT_LOCAL = (
    "AWS::SecretsManager::Secret",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::IdentityPool",
    "AWS::Bedrock::Guardrail",
)


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation's short tags (!Ref, !Sub, ...)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class Template:
    body: dict[str, Any]

    @classmethod
    def load(cls, path: Path, parameters: dict[str, str] | None = None) -> "Template":
        """The template, its ``parameters`` given values in place of their defaults (what
        ``sam deploy --parameter-overrides`` gives the stack)."""
        template = cls(yaml.load(path.read_text(), Loader=_CfnLoader))  # noqa: S506 - safe subclass
        declared = template.body.get("Parameters", {})
        for name, value in (parameters or {}).items():
            if name not in declared:
                raise ValueError(f"template.yaml has no parameter {name}")
            allowed = declared[name].get("AllowedValues")
            if allowed is not None and value not in [str(a) for a in allowed]:
                raise ValueError(f"{name} is one of {', '.join(map(str, allowed))}, not {value!r}")
            declared[name]["Default"] = value
        return template

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {
            name: resource.get("Properties", {})
            for name, resource in self.body["Resources"].items()
            if resource["Type"] == kind
        }

    def function_property(self, function: str, name: str) -> Any:
        """The function's own property, else the one Globals give every function (or None)."""
        properties = self.body["Resources"][function]["Properties"]
        if name in properties:
            return properties[name]
        return self.body.get("Globals", {}).get("Function", {}).get(name)

    def function_environment(self, function: str, names: dict[str, str]) -> dict[str, str]:
        """The function's environment variables, with !Ref resolved to local ``names``."""
        variables = dict(
            self.body.get("Globals", {})
            .get("Function", {})
            .get("Environment", {})
            .get("Variables", {})
        )
        properties = self.body["Resources"][function]["Properties"]
        variables.update(properties.get("Environment", {}).get("Variables", {}))
        return {key: self.resolve(value, names) for key, value in variables.items()}

    def resolve(self, value: Any, names: dict[str, str]) -> str:
        """A property's value: !Ref and !GetAtt from ``names``, else a parameter's default
        (a list parameter's as its comma-separated string); !Join of those."""
        if isinstance(value, bool):
            return str(value).lower()  # as CloudFormation passes it
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
            attribute = ".".join(value["Fn::GetAtt"])
            if attribute in names:
                return names[attribute]
            resource = self.body["Resources"].get(value["Fn::GetAtt"][0], {})
            if resource.get("Type") in NOT_LOCAL:  # not played locally: none of it
                return ""
        if isinstance(value, dict) and set(value) == {"Fn::Join"}:
            delimiter, parts = value["Fn::Join"]
            if isinstance(parts, list):
                return str(delimiter).join(self.resolve(part, names) for part in parts)
            return str(delimiter).join(self.resolve(parts, names).split(","))  # a list's !Ref
        if isinstance(value, dict) and set(value) == {"Ref"}:
            ref = value["Ref"]
            if ref in names:
                return names[ref]
            parameter = self.body.get("Parameters", {}).get(ref)
            if parameter is not None and "Default" in parameter:
                return str(parameter["Default"])
            if ref == "AWS::StackName":
                return LOCAL_STACK_NAME
        raise ValueError(f"the local stack cannot resolve {value!r} from template.yaml")


# samconfig.toml's stack name: what the local stack answers for AWS::StackName.
LOCAL_STACK_NAME = "imagegate"


def local_name(prefix: str, logical_id: str) -> str:
    return f"{prefix}-{logical_id}".lower()


def create_resources(
    template: Template,
    dynamodb: "DynamoDBClient",
    s3: "S3Client",
    sqs: "SQSClient",
    prefix: str,
) -> dict[str, str]:
    """Make the template's tables, queues and buckets; return what !Ref gives for each.

    That is the local name of a table or bucket and the URL of a queue, keyed by logical id;
    a queue's ARN is also there, keyed as !GetAtt spells it (``WorkQueue.Arn``).
    """
    names = dict.fromkeys(
        (logical_id for kind in NOT_LOCAL for logical_id in template.resources(kind)), ""
    )

    def resolve(value: Any) -> str:
        return template.resolve(value, names)

    for logical_id, props in template.resources("AWS::DynamoDB::Table").items():
        names[logical_id] = local_name(prefix, logical_id)
        create_table(dynamodb, names[logical_id], props)
    queues = template.resources("AWS::SQS::Queue")
    for logical_id in _dead_letter_queues_first(queues):
        url = create_queue(sqs, local_name(prefix, logical_id), queues[logical_id], resolve)
        names[logical_id] = url
        names[f"{logical_id}.Arn"] = queue_arn(sqs, url)
    # After the queues: a bucket's notifications name them.
    for logical_id, props in template.resources("AWS::S3::Bucket").items():
        names[logical_id] = local_name(prefix, logical_id)
        create_bucket(s3, names[logical_id], props, resolve)
    return names


def _dead_letter_queues_first(queues: dict[str, dict[str, Any]]) -> list[str]:
    order: TopologicalSorter[str] = TopologicalSorter()
    for logical_id, props in queues.items():
        target = props.get("RedrivePolicy", {}).get("deadLetterTargetArn", {})
        order.add(logical_id, *([target["Fn::GetAtt"][0]] if "Fn::GetAtt" in target else []))
    return list(order.static_order())
