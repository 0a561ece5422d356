"""What template.yaml lets the stack invoke on Bedrock: exactly the ARNs of its
``BedrockModelArns`` parameter, whose default names catalog models only, and the functions
that generate learn the same list."""

import json
from typing import Any

from handler.backends.bedrock import Grants
from handler.backends.bedrock.params import BedrockParams
from handler.cli.template import Template
from handler.core.catalog import load_catalog
from tests.support import ROOT, function_statements

TEMPLATE = Template.load(ROOT / "template.yaml")
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE.body["Resources"]
CATALOG = load_catalog(ROOT / "infra" / "catalog.json")
BEDROCK_IDS = {
    BedrockParams.model_validate(model.backend_params).model_id
    for model in CATALOG.models
    if model.backend == "bedrock"
}
DEFAULT_ARNS = TEMPLATE.body["Parameters"]["BedrockModelArns"]["Default"].split(",")


def test_the_default_grants_name_catalog_models_only() -> None:
    assert DEFAULT_ARNS
    for arn in DEFAULT_ARNS:
        assert arn.split("/", 1)[1] in BEDROCK_IDS, arn
        assert ":*" not in arn  # one region, no account wildcard


def test_only_the_generating_functions_may_invoke_and_only_what_is_granted() -> None:
    granted = {}
    for name, resource in RESOURCES.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for statement in function_statements(RESOURCES, name):
            if "bedrock:" in json.dumps(statement.get("Action")):
                granted[name] = statement
    assert set(granted) == {"ApiFunction", "StreamFunction", "WorkerFunction"}
    for statement in granted.values():
        assert statement["Action"] == "bedrock:InvokeModel"  # not the streaming or async APIs
        assert statement["Resource"] == {"Ref": "BedrockModelArns"}
        assert statement["If"] == "BedrockModelsGranted"  # no statement at all when empty
    roles = {
        r["Properties"]["Role"]["Fn::GetAtt"][0]
        for r in RESOURCES.values()
        if "Role" in r.get("Properties", {})
        and r["Properties"]["Role"]["Fn::GetAtt"][0] in RESOURCES
    }
    others = {
        name: r
        for name, r in RESOURCES.items()
        if r["Type"] != "AWS::Serverless::Function" and name not in roles
    }
    assert "bedrock:" not in json.dumps(others)


def test_the_functions_are_told_what_is_granted() -> None:
    names = dict.fromkeys(RESOURCES, "local")
    environment = TEMPLATE.function_environment("ApiFunction", names)
    assert environment["IMAGEGATE_BEDROCK_MODEL_ARNS"].split(",") == DEFAULT_ARNS
    grants = Grants(environment["IMAGEGATE_BEDROCK_MODEL_ARNS"])
    served = {model_id for model_id in BEDROCK_IDS if grants.target(model_id) is not None}
    assert served == {arn.split("/", 1)[1] for arn in DEFAULT_ARNS}


def test_the_functions_that_invoke_may_subscribe_to_marketplace_models() -> None:
    # A Stability model's first call subscribes the account, with the calling role's rights
    for name in ("ApiFunction", "StreamFunction", "WorkerFunction"):
        [statement] = [
            s for s in function_statements(RESOURCES, name) if "aws-marketplace:" in str(s)
        ]
        assert set(statement["Action"]) == {
            "aws-marketplace:Subscribe",
            "aws-marketplace:Unsubscribe",
            "aws-marketplace:ViewSubscriptions",
        }
        assert statement["If"] == "BedrockModelsGranted"
