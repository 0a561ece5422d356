"""Members and invitations as stored (``stores/members.py``)."""

from typing import Protocol

from handler.core.records.members import Invitation, Membership, Role


class Members(Protocol):
    def membership(self, sub: str) -> Membership | None: ...

    def members(self, account_id: str) -> list[Membership]: ...

    def change_role(self, member: Membership, role: Role) -> None:
        """Conflict ``last_owner`` if the account would have no owner left."""
        ...

    def remove(self, member: Membership) -> None:
        """Conflict ``last_owner`` if the account would have no owner left."""
        ...

    def invitations(self, account_id: str, *, now: int) -> list[Invitation]: ...

    def invitation(self, email: str, *, now: int) -> Invitation | None:
        """The invitation in force for ``email``, if any."""
        ...

    def invite(self, invitation: Invitation, *, now: int) -> None: ...

    def withdraw(self, email: str, account_id: str) -> None: ...

    def accept(self, invitation: Invitation, membership: Membership, *, now: int) -> None: ...
