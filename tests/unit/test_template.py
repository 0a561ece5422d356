from handler.cli.template import Template, _lifecycle_rule
from tests.support import ROOT

TEMPLATE = Template.load(ROOT / "template.yaml")


def test_function_environment_resolves_refs_to_local_names_and_defaults() -> None:
    env = TEMPLATE.function_environment(
        "ApiFunction", {"KeysTable": "local-keys", "ImagesBucket": "local-images"}
    )
    assert env["IMAGEGATE_KEYS_TABLE"] == "local-keys"
    assert env["IMAGEGATE_IMAGES_BUCKET"] == "local-images"
    assert env["IMAGEGATE_URL_TTL_SECONDS"] == "300"


def test_lifecycle_rules_convert_to_the_s3_api_shape() -> None:
    rules = TEMPLATE.resources("AWS::S3::Bucket")["ImagesBucket"]["LifecycleConfiguration"]
    expire = _lifecycle_rule(TEMPLATE, rules["Rules"][0])
    assert expire == {
        "ID": "ExpireGeneratedImages",
        "Status": "Enabled",
        "Filter": {"Prefix": "images/"},
        "Expiration": {"Days": 7},
    }
