"""What a deploy makes of template.yaml: parameter values from samconfig.toml, and the
functions' properties evaluated as CloudFormation would."""

from pathlib import Path

from handler.cli.preflight.findings import fail, ok, render, warn
from handler.cli.samconfig import SamConfig
from tests.preflight_account import deployment


def test_samconfig_deploy_settings_win_over_global_ones(tmp_path: Path) -> None:
    # Given global and deploy settings, overrides in both of sam's forms
    config = tmp_path / "samconfig.toml"
    config.write_text(
        'version = 0.1\n[default.global.parameters]\nstack_name = "ig"\nregion = "eu-west-1"\n'
        '[default.deploy.parameters]\nregion = "us-west-2"\nprofile = "ops"\n'
        'parameter_overrides = \'ApiReservedConcurrency=50 StageName="v 1" '
        "ParameterKey=ServePreview,ParameterValue=true'\n"
    )
    # When it is read
    settings = SamConfig.load(config)
    # Then the deploy's region wins, and every override is read
    assert (settings.stack_name, settings.region, settings.profile) == ("ig", "us-west-2", "ops")
    assert settings.overrides == {
        "ApiReservedConcurrency": "50",
        "StageName": "v 1",
        "ServePreview": "true",
    }


def test_no_samconfig_is_no_setting(tmp_path: Path) -> None:
    assert SamConfig.load(tmp_path / "samconfig.toml") == SamConfig()


def test_reservations_follow_the_parameters_and_their_conditions() -> None:
    assert deployment().function_values("ReservedConcurrentExecutions") == {}  # the default
    reserved = deployment(ApiReservedConcurrency="400").function_values(
        "ReservedConcurrentExecutions"
    )
    assert reserved["ApiFunction"] == ("400", {"ApiReservedConcurrency"})
    assert all(value for value, _ in reserved.values())
    # 0 turns the condition off: no function reserves anything
    assert (
        deployment(ApiReservedConcurrency="0").function_values("ReservedConcurrentExecutions") == {}
    )


def test_snapstart_and_list_parameters_evaluate() -> None:
    plan = deployment(ApiSnapStart="None", BedrockModelArns="a,b")
    assert plan.function_values("SnapStart")["ApiFunction"][0] == {"ApplyOn": "None"}
    assert plan.value({"Ref": "BedrockModelArns"}) == ["a", "b"]
    assert plan.condition("BedrockModelsGranted")
    assert not deployment(BedrockModelArns="").condition("BedrockModelsGranted")


def test_allows_reads_the_template_iam_statements() -> None:
    assert deployment().allows("bedrock:InvokeModel")
    assert not deployment().allows("iam:PassRole")


def test_a_report_reads_at_80_columns_and_never_splits_a_name() -> None:
    arn = "arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0" * 2
    text = render(
        [
            ok("snapstart", "offered in us-east-1"),
            warn("sagemaker x", "words " * 30),
            fail("bedrock y", f"not offered: {arn}", "do this " * 20),
        ]
    )
    lines = text.splitlines()
    assert lines[0] == "OK    snapstart: offered in us-east-1"
    assert lines[1].startswith("WARN  sagemaker x: words")
    assert [line for line in lines if len(line) > 80] == [f"      {arn}"]
    fix = next(i for i, line in enumerate(lines) if line.startswith("      fix: do this"))
    # The fix's later lines sit under its first word
    assert all(line[:11].isspace() and not line[11].isspace() for line in lines[fix + 1 :])
