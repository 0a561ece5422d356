"""DynamoDB writes built from what they write and what they require: placeholders allocated
once per name and value, only those used declared, Python values as attribute values."""

from typing import Any

import pytest

from handler.aws.dynamo import attribute_value, item_of
from handler.aws.expressions import attr, if_not_exists
from handler.aws.writes import Put, Update


def test_each_name_and_value_gets_one_placeholder_in_the_order_used() -> None:
    # Given an update that reads and requires the balance, by the price, twice over
    balance = attr("balance")
    update = Update("keys", {"key_id": "k1"}).set(balance, balance - 5).require(balance.gte(5))
    # Then the balance and the price each have one placeholder, shared by both expressions
    assert update.request() == {
        "TableName": "keys",
        "Key": {"key_id": {"S": "k1"}},
        "UpdateExpression": "SET #n0 = #n0 - :v0",
        "ConditionExpression": "#n0 >= :v0",
        "ExpressionAttributeNames": {"#n0": "balance"},
        "ExpressionAttributeValues": {":v0": {"N": "5"}},
    }


def test_equal_values_of_other_types_get_their_own_placeholders() -> None:
    request = Update("t", {"pk": "a"}).set("n", 1).set("s", "1").set("b", True).request()
    assert request["UpdateExpression"] == "SET #n0 = :v0, #n1 = :v1, #n2 = :v2"
    assert request["ExpressionAttributeValues"] == {
        ":v0": {"N": "1"},
        ":v1": {"S": "1"},
        ":v2": {"BOOL": True},
    }


def test_only_what_the_expressions_use_is_declared() -> None:
    # A removal uses names only; a put without a condition uses neither
    removal = Update("t", {"pk": "a"}).remove("x", "y").request()
    assert removal["UpdateExpression"] == "REMOVE #n0, #n1"
    assert removal["ExpressionAttributeNames"] == {"#n0": "x", "#n1": "y"}
    assert "ExpressionAttributeValues" not in removal
    put = Put("t", item_of({"pk": "a"})).request()
    assert put == {"TableName": "t", "Item": {"pk": {"S": "a"}}}


def test_actions_are_grouped_by_kind_whatever_order_they_were_given_in() -> None:
    update = (
        Update("t", {"pk": "a"})
        .add("spent", 3)
        .remove("old")
        .delete("tags", {"x"})
        .set("n", if_not_exists("n", attr("limit")) - 1)
        .set("copy", attr("original"))
    )
    request = update.request()
    assert request["UpdateExpression"] == (
        "SET #n0 = if_not_exists(#n0, #n1) - :v0, #n2 = #n3 REMOVE #n4 ADD #n5 :v1 DELETE #n6 :v2"
    )
    assert request["ExpressionAttributeNames"] == {
        "#n0": "n",
        "#n1": "limit",
        "#n2": "copy",
        "#n3": "original",
        "#n4": "old",
        "#n5": "spent",
        "#n6": "tags",
    }
    assert request["ExpressionAttributeValues"] == {
        ":v0": {"N": "1"},
        ":v1": {"N": "3"},
        ":v2": {"SS": ["x"]},
    }


def test_a_path_into_a_map_names_each_step_and_a_dotted_name_is_one_name() -> None:
    day = attr("spend_left", "d20261201")
    request = Update("t", {"pk": "a"}).add(day, -4).require(attr("sl.d1").not_exists()).request()
    assert request["UpdateExpression"] == "ADD #n0.#n1 :v0"
    assert request["ConditionExpression"] == "attribute_not_exists(#n2)"
    assert request["ExpressionAttributeNames"] == {
        "#n0": "spend_left",
        "#n1": "d20261201",
        "#n2": "sl.d1",
    }


def test_conditions_keep_their_grouping() -> None:
    a, b, c = attr("a").exists(), attr("b").exists(), attr("c").exists()

    def rendered(condition: Any) -> str:
        return str(
            Update("t", {"pk": "x"}).set("y", 1).require(condition).request()["ConditionExpression"]
        )

    assert rendered(a & b & c) == (
        "attribute_exists(#n1) AND attribute_exists(#n2) AND attribute_exists(#n3)"
    )
    assert rendered((a & b) | c) == (
        "(attribute_exists(#n1) AND attribute_exists(#n2)) OR attribute_exists(#n3)"
    )
    assert rendered(a & (b | c)) == (
        "attribute_exists(#n1) AND (attribute_exists(#n2) OR attribute_exists(#n3))"
    )
    assert rendered(~(a | b)) == "NOT (attribute_exists(#n1) OR attribute_exists(#n2))"
    assert rendered(a & ~attr("s").contains("v")) == (
        "attribute_exists(#n1) AND NOT contains(#n2, :v1)"
    )


def test_each_requirement_must_hold() -> None:
    status, until = attr("status"), attr("until")
    update = (
        Update("t", {"pk": "x"})
        .set("y", 1)
        .require(status.is_in("a", "b") | until.lt(attr("now")))
        .require(status.ne("c"))
    )
    assert update.request()["ConditionExpression"] == (
        "(#n1 IN (:v1, :v2) OR #n2 < #n3) AND #n1 <> :v3"
    )


def test_writes_for_a_transaction_and_options_for_the_client() -> None:
    update = Update("t", {"pk": "x", "sk": 2}).set("y", 1)
    assert update.write() == {"Update": update.request()}
    assert update.request(ReturnValues="ALL_NEW")["ReturnValues"] == "ALL_NEW"
    put = Put("t", item_of({"pk": "x"})).require(attr("pk").not_exists())
    assert put.write() == {
        "Put": {
            "TableName": "t",
            "Item": {"pk": {"S": "x"}},
            "ConditionExpression": "attribute_not_exists(#n0)",
            "ExpressionAttributeNames": {"#n0": "pk"},
        }
    }


def test_an_update_that_changes_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="changes something"):
        Update("t", {"pk": "x"}).require(attr("pk").exists()).request()


@pytest.mark.parametrize(
    ("value", "attribute"),
    [
        (0, {"N": "0"}),
        (-40, {"N": "-40"}),
        (123456789012345678901234567890, {"N": "123456789012345678901234567890"}),
        ("", {"S": ""}),
        ("fox", {"S": "fox"}),
        (False, {"BOOL": False}),
        (b"\x00", {"B": b"\x00"}),
        (frozenset({"b", "a"}), {"SS": ["a", "b"]}),
        ({3, 20, -1}, {"NS": ["-1", "3", "20"]}),
        ([1, "a"], {"L": [{"N": "1"}, {"S": "a"}]}),
        ({}, {"M": {}}),
        (
            {"n": 1, "gone": None, "m": {"s": "x"}},
            {"M": {"n": {"N": "1"}, "m": {"M": {"s": {"S": "x"}}}}},
        ),
    ],
)
def test_python_values_as_attribute_values(value: object, attribute: Any) -> None:
    assert attribute_value(value) == attribute


@pytest.mark.parametrize(
    ("value", "error"),
    [(None, TypeError), (1.5, TypeError), (set(), ValueError), ({1, "a"}, TypeError)],
)
def test_values_dynamodb_has_no_type_for_are_refused_where_given(
    value: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        Update("t", {"pk": "x"}).set("y", value)


def test_an_item_leaves_out_what_is_none_and_keeps_what_is_empty_or_zero() -> None:
    assert item_of({"a": None, "b": 0, "c": "", "d": False, "e": {}}) == {
        "b": {"N": "0"},
        "c": {"S": ""},
        "d": {"BOOL": False},
        "e": {"M": {}},
    }
