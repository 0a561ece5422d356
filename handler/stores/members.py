"""Members and invitations in DynamoDB (the members table): one item per person
(``member#<sub>``: their account and role) and per open invitation (``invitation#<email>``),
both listed by account through the ``by_account`` index.

An account's item (in the keys table) counts its owners, and every change of an owner moves
that count in the same transaction, on the condition that one stays: an account never loses
its last owner, whatever changes at once. A person is a member of one account at most: their
item is put only where there is none."""

from typing import TYPE_CHECKING, Any

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import Transaction, TransactionRefused, item_of, plain
from handler.aws.errors import aws_errors
from handler.aws.expressions import attr
from handler.aws.writes import Delete, Put, Update
from handler.core.errors import Conflict, NotFound
from handler.core.records.members import Invitation, Membership, Role

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    Writes = dict[str, TransactWriteItemTypeDef]

INDEX = "by_account"
OWNERS = "owners"  # on the account's item: how many owners it has
_LAST_OWNER = "An account keeps at least one owner: make another member owner first."


def member_id(sub: str) -> str:
    return f"member#{sub}"


def invitation_id(email: str) -> str:
    return f"invitation#{email}"


def joining(
    members_table: str, keys_table: str, membership: Membership, *, counted: bool = True
) -> "Writes":
    """The writes that make ``membership`` (named ``member`` and, for an owner, ``owners``):
    its item, if the person has none yet, and an owner counted on the account (unless the
    account's own write counts it: ``counted=False``)."""
    values = {
        "id": member_id(membership.sub),
        "account_id": membership.account_id,
        "role": membership.role,
        "email": membership.email,
        "joined_at": membership.joined_at,
    }
    put = Put(members_table, item_of(values)).require(attr("id").not_exists())
    writes: Writes = {"member": put.write()}
    if membership.role == "owner" and counted:
        writes["owners"] = _owners(keys_table, membership.account_id, +1)
    return writes


def _owners(keys_table: str, account_id: str, change: int) -> "TransactWriteItemTypeDef":
    count = Update(keys_table, {"key_id": account_id}).add(OWNERS, change)
    count.require(attr("balance").exists())  # the account's item, not a key's
    if change < 0:
        count.require(attr(OWNERS).gt(1))
    return count.write()


class DynamoDBMembers:
    def __init__(self, members_table: str, keys_table: str, client: "DynamoDBClient | None" = None):
        self._table = members_table
        self._keys = keys_table
        self._client = client or dynamodb_client()

    def membership(self, sub: str) -> Membership | None:
        item = self._get(member_id(sub))
        return None if item is None else _membership(item)

    def members(self, account_id: str) -> list[Membership]:
        found = (_membership(item) for item in self._of_account(account_id, "member#"))
        return sorted(found, key=lambda member: (member.joined_at, member.email))

    def change_role(self, member: Membership, role: Role) -> None:
        """``member`` (as read) given ``role``; refused if it changed meanwhile, or if it
        would leave the account without an owner."""
        change = Update(self._table, {"id": member_id(member.sub)}).set("role", role)
        change.require(attr("account_id").eq(member.account_id) & attr("role").eq(member.role))
        writes: Writes = {"member": change.write()}
        if (member.role == "owner") != (role == "owner"):
            writes["owners"] = _owners(self._keys, member.account_id, +1 if role == "owner" else -1)
        self._commit(writes)

    def remove(self, member: Membership) -> None:
        gone = Delete(self._table, {"id": member_id(member.sub)})
        gone.require(attr("account_id").eq(member.account_id) & attr("role").eq(member.role))
        writes: Writes = {"member": gone.write()}
        if member.role == "owner":
            writes["owners"] = _owners(self._keys, member.account_id, -1)
        self._commit(writes)

    def invitations(self, account_id: str, *, now: int) -> list[Invitation]:
        found = (_invitation(item) for item in self._of_account(account_id, "invitation#"))
        return sorted((i for i in found if i.expires_at > now), key=lambda i: i.email)

    def invitation(self, email: str, *, now: int) -> Invitation | None:
        item = self._get(invitation_id(email))
        invitation = None if item is None else _invitation(item)
        return invitation if invitation is not None and invitation.expires_at > now else None

    def invite(self, invitation: Invitation, *, now: int) -> None:
        """Offer ``invitation``, unless the email has one in force already."""
        values = {
            "id": invitation_id(invitation.email),
            "account_id": invitation.account_id,
            "role": invitation.role,
            "invited_by": invitation.invited_by,
            "expires_at": invitation.expires_at,
        }
        put = Put(self._table, item_of(values))
        put.require(attr("id").not_exists() | attr("expires_at").lte(now))
        try:
            Transaction().add({"invitation": put.write()}).commit(
                self._client, "Could not store the invitation."
            )
        except TransactionRefused:
            raise Conflict(
                f"{invitation.email} has an invitation in force already.",
                code="invitation_pending",
            ) from None

    def withdraw(self, email: str, account_id: str) -> None:
        gone = Delete(self._table, {"id": invitation_id(email)})
        gone.require(attr("account_id").eq(account_id))
        try:
            Transaction().add({"invitation": gone.write()}).commit(
                self._client, "Could not withdraw the invitation."
            )
        except TransactionRefused:
            raise NotFound(f"No invitation for {email} in this account.", param="email") from None

    def accept(self, invitation: Invitation, membership: Membership, *, now: int) -> None:
        """The invitation taken up: the membership made and the invitation gone, at once."""
        used = Delete(self._table, {"id": invitation_id(invitation.email)})
        used.require(attr("account_id").eq(invitation.account_id) & attr("expires_at").gt(now))
        writes = {**joining(self._table, self._keys, membership), "invitation": used.write()}
        try:
            Transaction().add(writes).commit(self._client, "Could not accept the invitation.")
        except TransactionRefused as refused:
            if "member" in refused.failed:
                raise Conflict(
                    "You are a member of an account already: leave it first.",
                    code="already_a_member",
                ) from None
            raise NotFound(
                "The invitation has expired or was withdrawn.", code="invitation_gone"
            ) from None

    def _commit(self, writes: "Writes") -> None:
        try:
            Transaction().add(writes).commit(self._client, "Could not change the members.")
        except TransactionRefused as refused:
            if "owners" in refused.failed and "member" not in refused.failed:
                raise Conflict(_LAST_OWNER, code="last_owner") from None
            raise Conflict(
                "The member changed meanwhile: read the members again.", code="member_changed"
            ) from None

    def _get(self, item_id: str) -> dict[str, Any] | None:
        with aws_errors("Could not read the members."):
            item = self._client.get_item(
                TableName=self._table, Key={"id": {"S": item_id}}, ConsistentRead=True
            ).get("Item")
        return None if item is None else plain(item)

    def _of_account(self, account_id: str, kind: str) -> list[dict[str, Any]]:
        with aws_errors("Could not list the members."):
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                IndexName=INDEX,
                KeyConditionExpression="account_id = :account AND begins_with(id, :kind)",
                ExpressionAttributeValues={":account": {"S": account_id}, ":kind": {"S": kind}},
            )
            return [plain(item) for page in pages for item in page["Items"]]


def _membership(values: dict[str, Any]) -> Membership:
    return Membership(
        sub=values["id"].removeprefix("member#"),
        account_id=values["account_id"],
        role=values["role"],
        email=values["email"],
        joined_at=values["joined_at"],
    )


def _invitation(values: dict[str, Any]) -> Invitation:
    return Invitation(
        email=values["id"].removeprefix("invitation#"),
        account_id=values["account_id"],
        role=values["role"],
        invited_by=values["invited_by"],
        expires_at=values["expires_at"],
    )
