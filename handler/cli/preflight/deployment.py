"""What ``sam deploy`` will make of template.yaml: the values its parameters get
(samconfig.toml's ``parameter_overrides``, else the template's defaults) and the properties of
the functions that depend on them, evaluated as CloudFormation would."""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from handler.cli.samconfig import SamConfig
from handler.cli.template import Template

_FUNCTIONS = ("AWS::Serverless::Function", "AWS::Lambda::Function")


@dataclass(frozen=True)
class Deployment:
    template: Template
    parameters: dict[str, str]
    stack_name: str | None = None

    @classmethod
    def of(cls, template: Template, config: SamConfig) -> "Deployment":
        declared = template.body.get("Parameters", {})
        values = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
        values.update({k: v for k, v in config.overrides.items() if k in declared})
        return cls(template, values, config.stack_name)

    def given(self, **values: str) -> "Deployment":
        """The same deploy with some parameters set otherwise (to try a value that fits)."""
        return replace(self, parameters={**self.parameters, **values})

    def function_values(self, name: str) -> dict[str, tuple[Any, set[str]]]:
        """Each function's property ``name`` (its own, else the Globals'), evaluated, with the
        parameters it is set from; functions where it is absent (or AWS::NoValue) left out."""
        found = {}
        for logical_id, resource in self.template.body["Resources"].items():
            if resource["Type"] not in _FUNCTIONS:
                continue
            node = self.template.function_property(logical_id, name)
            value = self.value(node)
            if value is not None:
                found[logical_id] = (value, set(self._named(node)))
        return found

    def allows(self, action: str) -> bool:
        """Whether some IAM statement of the template allows ``action``."""
        return any(
            statement.get("Effect") == "Allow" and action in _listed(statement.get("Action"))
            for statement in _statements(self.template.body["Resources"])
        )

    def value(self, node: Any) -> Any:
        """A property as CloudFormation resolves it; None for AWS::NoValue."""
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not None]
        if not isinstance(node, dict):
            return node
        function = next(iter(node)) if len(node) == 1 else ""
        if function not in ("Ref", "Condition") and not function.startswith("Fn::"):
            return {key: self.value(item) for key, item in node.items()}
        argument = node[function]
        if function == "Ref":
            return self._ref(argument)
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::If":
            name, then, otherwise = argument
            return self.value(then if self.condition(name) else otherwise)
        if function == "Fn::Equals":
            left, right = (self.value(item) for item in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self.value(argument[0])
        if function == "Fn::And":
            return all(self.value(item) for item in argument)
        if function == "Fn::Or":
            return any(self.value(item) for item in argument)
        if function == "Fn::Join":
            delimiter, parts = argument
            return str(delimiter).join(str(part) for part in self.value(parts))
        raise ValueError(f"preflight cannot evaluate {function} in template.yaml")

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template.body["Conditions"][name]))

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return None
        declared = self.template.body.get("Parameters", {})
        if name not in declared:
            raise ValueError(f"preflight cannot evaluate !Ref {name} in template.yaml")
        if declared[name]["Type"] == "CommaDelimitedList":
            return [part.strip() for part in self.parameters[name].split(",") if part.strip()]
        return self.parameters[name]

    def _named(self, node: Any) -> Iterator[str]:
        """The parameters a property takes its value from (not those its conditions test)."""
        if isinstance(node, list):
            for item in node:
                yield from self._named(item)
        elif isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in self.parameters:
                yield node["Ref"]
            for key, item in node.items():
                yield from self._named(item[1:] if key == "Fn::If" else item)


def _statements(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "Effect" in node and "Action" in node:
            yield node
        for item in node.values():
            yield from _statements(item)
    elif isinstance(node, list):
        for item in node:
            yield from _statements(item)


def _listed(actions: Any) -> list[str]:
    return [actions] if isinstance(actions, str) else list(actions or [])
