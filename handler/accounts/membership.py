"""What a person signed in to the console may do: open an account (as the deployment's
sign-up allows), take up an invitation, and, by their role in their account, manage its
members and invitations (``keys.py``: its keys and usage)."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from handler.core.errors import (
    Conflict,
    ImagegateError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from handler.core.keys import new_account_id
from handler.core.outcomes import AccountRefused
from handler.core.records.accounts import Account
from handler.core.records.members import Invitation, Member, Membership, Permission, Role
from handler.ports.accounts import Accounts
from handler.ports.members import Members
from handler.ports.sign_in import SignIn

SignUp = Literal["invitation", "approval", "open"]
INVITATION_SECONDS = 7 * 86_400
_NO_ACCOUNT = "You are not a member of an account yet: open one, or accept an invitation."


def member_email(member: Member) -> str:
    """The email the person signed in with (an ID token's, verified by Cognito)."""
    if not member.email:
        raise InvalidRequest("Sign in with an ID token: it names your email.", param=None)
    return member.email.lower()


@dataclass(frozen=True, slots=True)
class AccountMembers:
    members: Members
    accounts: Accounts
    sign_up: SignUp = "invitation"
    starting_credit: int = 0  # micro-units an account opened by sign-up starts with
    clock: Callable[[], float] = field(default=time.time)
    logins: SignIn | None = None  # where an invitation makes the invitee's login

    def of(self, member: Member, permission: Permission = "account") -> Membership:
        """The person's membership, if their role allows ``permission`` (403 if not)."""
        membership = self.members.membership(member.sub)
        if membership is None:
            raise PermissionDenied(_NO_ACCOUNT, code="no_account")
        if not membership.may(permission):
            raise PermissionDenied(
                f"A member with the role {membership.role} may not do this "
                f"(it needs {permission}); ask an owner of the account.",
                code="role_not_allowed",
            )
        return membership

    def me(self, member: Member) -> tuple[Membership | None, Account | None, Invitation | None]:
        """The person's membership and account, and an invitation waiting for them."""
        membership = self.members.membership(member.sub)
        account = None if membership is None else self.accounts.get(membership.account_id)
        waiting = None
        if member.email is not None and membership is None:
            waiting = self.members.invitation(member.email.lower(), now=int(self.clock()))
        return membership, account, waiting

    def open(self, member: Member, name: str) -> tuple[Membership, Account]:
        """A new account with the person as its owner, as the deployment's sign-up allows:
        ``open`` with the starting credit, ``approval`` suspended until an operator approves
        it, ``invitation`` not at all."""
        if self.sign_up == "invitation":
            raise PermissionDenied(
                "This deployment opens accounts by invitation only: ask an account's owner "
                "to invite you.",
                code="sign_up_closed",
            )
        now = int(self.clock())
        account_id = new_account_id()
        owner = Membership(member.sub, account_id, "owner", member_email(member), now)
        try:
            account = self.accounts.open(
                account_id,
                name,
                owner,
                balance=self.starting_credit if self.sign_up == "open" else 0,
                pending=self.sign_up == "approval",
                source="admin",
            )
        except AccountRefused as refused:
            if "member" in refused.failed:
                raise Conflict(
                    "You are a member of an account already: one account per person.",
                    code="already_a_member",
                ) from None
            raise
        return owner, account

    def invite(self, member: Member, email: str, role: Role) -> Invitation:
        """An invitation for ``email`` and, where it has no login, one made for it, whose
        temporary password the pool emails: the invitation by email."""
        inviter = self.of(member, "members")
        email = email.strip().lower()
        if any(m.email == email for m in self.members.members(inviter.account_id)):
            raise Conflict(f"{email} is a member of this account already.", code="already_a_member")
        now = int(self.clock())
        expires = now + INVITATION_SECONDS
        invitation = Invitation(
            email.strip().lower(), inviter.account_id, role, inviter.email, expires
        )
        return self._offer(invitation, now)

    def open_for(
        self, actor: str, name: str, owner: str, *, balance: int
    ) -> tuple[Account, Invitation]:
        """An account an operator opens, its owner invited by email (what an invitation-only
        deployment begins with), its balance, if any, the ledger's opening top-up."""
        now = int(self.clock())
        account = self.accounts.open(
            new_account_id(),
            name,
            None,
            balance=balance,
            pending=False,
            source="admin",
            actor=actor,
            now=now,
        )
        invitation = Invitation(
            owner.strip().lower(),
            account.account_id,
            "owner",
            "the operator",
            now + INVITATION_SECONDS,
        )
        return account, self._offer(invitation, now)

    def _offer(self, invitation: Invitation, now: int) -> Invitation:
        self.members.invite(invitation, now=now)
        if self.logins is not None:
            try:
                self.logins.invite(invitation.email)  # Cognito emails its temporary password
            except ImagegateError:
                self.members.withdraw(invitation.email, invitation.account_id)
                raise
        return invitation

    def accept(self, member: Member) -> Membership:
        """Take up the invitation made to the person's email."""
        now = int(self.clock())
        email = member_email(member)
        invitation = self.members.invitation(email, now=now)
        if invitation is None:
            raise NotFound(f"No invitation in force for {email}.", code="invitation_gone")
        joined = Membership(member.sub, invitation.account_id, invitation.role, email, now)
        self.members.accept(invitation, joined, now=now)
        return joined

    def change_role(self, member: Member, sub: str, role: Role) -> Membership:
        owner = self.of(member, "members")
        other = self._member_of(owner.account_id, sub)
        self.members.change_role(other, role)
        return Membership(other.sub, other.account_id, role, other.email, other.joined_at)

    def remove(self, member: Member, sub: str) -> None:
        """A member taken out of the account (by an owner, or the member leaving)."""
        leaving = self.members.membership(member.sub)
        if leaving is not None and leaving.sub == sub:
            self.members.remove(leaving)
            return
        owner = self.of(member, "members")
        self.members.remove(self._member_of(owner.account_id, sub))

    def _member_of(self, account_id: str, sub: str) -> Membership:
        other = self.members.membership(sub)
        if other is None or other.account_id != account_id:
            raise NotFound(f"No member {sub} in this account.", param="sub")
        return other
