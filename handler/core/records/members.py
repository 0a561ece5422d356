"""A person signed in to the console, as their verified Cognito token names them."""

from dataclasses import dataclass

OPERATORS_GROUP = "operators"  # template.yaml: OperatorsGroup


@dataclass(frozen=True, slots=True)
class Member:
    sub: str  # the user pool's id of the person: stable, never reused
    email: str | None  # an ID token's; an access token carries none
    groups: tuple[str, ...]

    @property
    def is_operator(self) -> bool:
        return OPERATORS_GROUP in self.groups
