"""Creates the template's DynamoDB tables and S3 buckets on a local AWS stand-in.

``template.yaml`` stays the one source of truth: the local stack reads its resources and the
API function's environment from it instead of keeping a second description.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client


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
    def load(cls, path: Path) -> "Template":
        return cls(yaml.load(path.read_text(), Loader=_CfnLoader))  # noqa: S506 - safe subclass

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {
            name: resource.get("Properties", {})
            for name, resource in self.body["Resources"].items()
            if resource["Type"] == kind
        }

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
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, dict) and set(value) == {"Ref"}:
            ref = value["Ref"]
            if ref in names:
                return names[ref]
            parameter = self.body.get("Parameters", {}).get(ref)
            if parameter is not None and "Default" in parameter:
                return str(parameter["Default"])
        raise ValueError(f"the local stack cannot resolve {value!r} from template.yaml")


def local_name(prefix: str, logical_id: str) -> str:
    return f"{prefix}-{logical_id}".lower()


def create_tables(template: Template, client: "DynamoDBClient", prefix: str) -> dict[str, str]:
    names = {}
    for logical_id, props in template.resources("AWS::DynamoDB::Table").items():
        name = names[logical_id] = local_name(prefix, logical_id)
        arguments: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in props:
            arguments["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        client.create_table(**arguments)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    return names


def create_buckets(template: Template, client: "S3Client", prefix: str) -> dict[str, str]:
    names = {}
    for logical_id, props in template.resources("AWS::S3::Bucket").items():
        name = names[logical_id] = local_name(prefix, logical_id)
        client.create_bucket(Bucket=name)
        if "PublicAccessBlockConfiguration" in props:
            client.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        if "BucketEncryption" in props:
            # CloudFormation and the S3 API spell the default-encryption key differently.
            rules = [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    "BucketKeyEnabled": rule.get("BucketKeyEnabled", False),
                }
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            configuration: Any = {"Rules": rules}
            client.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration=configuration
            )
        lifecycle = props.get("LifecycleConfiguration", {}).get("Rules", [])
        if lifecycle:
            client.put_bucket_lifecycle_configuration(
                Bucket=name,
                LifecycleConfiguration={
                    "Rules": [_lifecycle_rule(template, rule) for rule in lifecycle]
                },
            )
    return names


def _lifecycle_rule(template: Template, rule: dict[str, Any]) -> Any:
    """CloudFormation's lifecycle rule shape, in the S3 API's shape."""
    converted: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(template.resolve(rule["ExpirationInDays"], {}))}
    if "AbortIncompleteMultipartUpload" in rule:
        converted["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    return converted
