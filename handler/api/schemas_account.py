"""The members' API's bodies and answers (``routes/account.py``). Every amount is in
micro-units of the deployment's currency, which each answer that holds money names."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from handler.api.routes.billing import CardTopUpTerms
from handler.api.routes.usage import UsageCounts
from handler.api.schemas_admin import Body, Cap, KeyView, ModelIds
from handler.core.records.accounts import Account
from handler.core.records.charges import UsageRecord
from handler.core.records.keys import ApiKeyRecord, IssuedKey
from handler.core.records.members import Invitation, Membership, Role
from handler.money.policy import ExpiresAt
from handler.money.usage import UsageTotals, totals

Name = Annotated[str, Field(min_length=1, max_length=128)]


class AccountOpen(Body):
    name: Annotated[Name, Field(description="The account's name, as its members see it.")]


class AccountKeyCreate(Body):
    name: Name
    models: Annotated[ModelIds | None, Field(description="None: every model.")] = None
    expires_at: Annotated[ExpiresAt | None, Field(description="Unix seconds.")] = None
    daily_spend_cap: Annotated[Cap | None, Field(description="The key's budget per UTC day.")] = (
        None
    )
    monthly_spend_cap: Annotated[Cap | None, Field(description="Per UTC month.")] = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude={"name"})


class AccountKeyUpdate(Body):
    """Only the fields given change; ``null`` lifts a limit."""

    name: Name | None = None
    models: ModelIds | None = None
    expires_at: ExpiresAt | None = None
    daily_spend_cap: Cap | None = None
    monthly_spend_cap: Cap | None = None

    def changes(self) -> dict[str, Any]:
        given = self.model_dump(include=self.model_fields_set)
        if given.get("models") is not None:
            given["models"] = frozenset(given["models"])
        return given


class InvitationCreate(Body):
    email: Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
    role: Role


class RoleChange(Body):
    role: Role


class AccountView(BaseModel):
    id: str
    object: Literal["account"] = "account"
    name: str
    balance: Annotated[int, Field(description="What the account has left, in micro-units.")]
    held: Annotated[int, Field(description="What requests running now have reserved.")]
    spent: int
    currency: Annotated[str, Field(description="ISO 4217, lower case.")]
    created_at: int
    status: Literal["active", "suspended", "awaiting_approval"]
    suspended_because: str | None

    @classmethod
    def of(cls, account: Account, currency: str) -> "AccountView":
        status: Literal["active", "suspended", "awaiting_approval"] = "active"
        if account.suspended:
            awaiting = account.suspended_because == "awaiting approval"
            status = "awaiting_approval" if awaiting else "suspended"
        return cls(
            id=account.account_id,
            name=account.name,
            balance=account.balance,
            held=account.held,
            spent=account.spent,
            currency=currency,
            created_at=account.created_at,
            status=status,
            suspended_because=account.suspended_because,
        )


class MemberView(BaseModel):
    id: Annotated[str, Field(description="The person's id in the members' pool.")]
    object: Literal["account.member"] = "account.member"
    email: str
    role: Role
    joined_at: int

    @classmethod
    def of(cls, membership: Membership) -> "MemberView":
        return cls(
            id=membership.sub,
            email=membership.email,
            role=membership.role,
            joined_at=membership.joined_at,
        )


class InvitationView(BaseModel):
    object: Literal["account.invitation"] = "account.invitation"
    email: str
    account_id: str
    role: Role
    invited_by: str
    expires_at: int

    @classmethod
    def of(cls, invitation: Invitation) -> "InvitationView":
        return cls(
            email=invitation.email,
            account_id=invitation.account_id,
            role=invitation.role,
            invited_by=invitation.invited_by,
            expires_at=invitation.expires_at,
        )


AccountKey = KeyView  # a key as its account's members see it


class AccountKeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[AccountKey]


class IssuedAccountKey(BaseModel):
    key: AccountKey
    api_key: Annotated[str, Field(description="The key's plaintext: shown this once only.")]

    @classmethod
    def of(cls, issued: IssuedKey) -> "IssuedAccountKey":
        return cls(key=AccountKey.of(issued.record), api_key=issued.plaintext)


class Me(BaseModel):
    object: Literal["me"] = "me"
    email: str | None
    operator: Annotated[bool, Field(description="In the operators' group.")]
    sign_up: Annotated[str, Field(description="invitation, approval or open.")]
    member: MemberView | None
    account: AccountView | None
    invitation: Annotated[InvitationView | None, Field(description="One waiting for you.")]
    card_top_ups: Annotated[
        CardTopUpTerms | None,
        Field(description="What POST /v1/account/billing/checkout takes; null: no cards here."),
    ]


class KeyModelUsage(UsageCounts):
    key_id: str
    key_name: str
    model: str


class AccountUsage(UsageCounts):
    object: Literal["account.usage"] = "account.usage"
    start_time: int
    end_time: int
    currency: Annotated[str, Field(description="ISO 4217, lower case: of spend and refunded.")]
    data: Annotated[list[KeyModelUsage], Field(description="Per key and model, in key order.")]

    @classmethod
    def report(
        cls,
        start: int,
        end: int,
        usage: "list[tuple[ApiKeyRecord, list[UsageRecord]]]",
        currency: str,
    ) -> "AccountUsage":
        rows: list[KeyModelUsage] = []
        for key, records in usage:
            models: dict[str, UsageTotals] = {}
            for record in records:
                model = record.charge.model
                models[model] = models.get(model, UsageTotals()).with_record(record)
            for model, counts in sorted(models.items()):
                base = UsageCounts.of(counts).model_dump()
                rows.append(
                    KeyModelUsage(key_id=key.key_id, key_name=key.name, model=model, **base)
                )
        every = totals(record for _, records in usage for record in records)
        base = UsageCounts.of(every).model_dump()
        return cls(start_time=start, end_time=end, currency=currency, data=rows, **base)
