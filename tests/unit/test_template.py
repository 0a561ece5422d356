import json

from handler.cli.template import Template
from handler.stores.provision import lifecycle_rule
from tests.support import ROOT

TEMPLATE = Template.load(ROOT / "template.yaml")


def test_function_environment_resolves_refs_to_local_names_and_defaults() -> None:
    names = {
        "KeysTable": "local-keys",
        "UsageTable": "local-usage",
        "IdempotencyTable": "local-idempotency",
        "ImagesBucket": "local-images",
    }
    env = TEMPLATE.function_environment("ApiFunction", names)
    assert env["IMAGEGATE_KEYS_TABLE"] == "local-keys"
    assert env["IMAGEGATE_USAGE_TABLE"] == "local-usage"
    assert env["IMAGEGATE_IMAGES_BUCKET"] == "local-images"
    assert env["IMAGEGATE_URL_TTL_SECONDS"] == "300"


def test_lifecycle_rules_convert_to_the_s3_api_shape() -> None:
    rules = TEMPLATE.resources("AWS::S3::Bucket")["ImagesBucket"]["LifecycleConfiguration"]
    expire = lifecycle_rule(rules["Rules"][0], lambda value: TEMPLATE.resolve(value, {}))
    assert expire == {
        "ID": "ExpireGeneratedImages",
        "Status": "Enabled",
        "Filter": {"Prefix": "images/"},
        "Expiration": {"Days": 7},
    }


def test_gateway_responses_are_openai_errors() -> None:
    # API Gateway substitutes $context.error.messageString with a quoted JSON string.
    api = TEMPLATE.resources("AWS::Serverless::Api")["Api"]
    for name, response in api["GatewayResponses"].items():
        template = response["ResponseTemplates"]["application/json"]
        body = json.loads(template.replace("$context.error.messageString", '"Forbidden"'))
        assert set(body["error"]) == {"message", "type", "param", "code"}, name
        if name.endswith("5XX") or response.get("StatusCode", "").startswith("5"):
            assert response["ResponseParameters"]["Headers"]["x-should-retry"] == "'false'"
