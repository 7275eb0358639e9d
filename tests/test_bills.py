"""Bills through the utilities' own account numbers: the spec's `accounts` operation finds them from
the ID number, `bills` (for_each) asks once per account; amounts in integer fen; the unpaid filter;
and an account number with odd characters never reaches the next request."""

from __future__ import annotations

from typing import Any

from connectors.spec import parse_spec
from tests.access_support import WORLD, ask, fixture, refused, resident_gateway, resident_token
from tests.conftest import SPECS, Admin, GatewayFactory

BILLS = """query($unpaid: Boolean) { me { bills(unpaid: $unpaid) {
  id account utility period amountFen dueDate paid paidAt department { id } } } }"""


def _expected(resident: Any) -> list[Any]:
    accounts = [a for a in WORLD.accounts_of(resident.household_id) if a.holder == resident.id_number]
    return [b for a in accounts for b in WORLD.bills_of(a.account_no)]


async def test_bills_of_every_account_in_fen(make_gateway: GatewayFactory, admin: Admin) -> None:
    gateway = await resident_gateway(make_gateway)
    resident = fixture("senior_pudong")
    expected = _expected(resident)
    assert len({b.account_no for b in expected}) >= 2
    body = await ask(gateway, resident_token(resident), BILLS)
    assert not body.get("errors"), body
    bills = body["data"]["me"]["bills"]
    assert {b["id"] for b in bills} == {f"utilities:{b.id}" for b in expected}
    by_id = {b["id"]: b for b in bills}
    for bill in expected:
        got = by_id[f"utilities:{bill.id}"]
        assert got["amountFen"] == bill.amount_fen and isinstance(got["amountFen"], int)
        assert got["paid"] is bill.paid and got["period"] == bill.period
        assert got["account"] == bill.account_no and got["dueDate"] == bill.due_date.isoformat()
    assert [b["period"] for b in bills] == sorted((b["period"] for b in bills), reverse=True)
    paths = await admin.paths("utilities")
    assert sum(n for p, n in paths.items() if p.endswith("/bills")) >= len({b.account_no for b in expected})


async def test_the_unpaid_filter(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    resident = fixture("senior_pudong")
    expected = _expected(resident)
    body = await ask(gateway, resident_token(resident), BILLS, unpaid=True)
    assert {b["id"] for b in body["data"]["me"]["bills"]} == {
        f"utilities:{b.id}" for b in expected if not b.paid
    }
    body = await ask(gateway, resident_token(resident), BILLS, unpaid=False)
    assert all(b["paid"] for b in body["data"]["me"]["bills"])


async def test_a_resident_without_accounts_has_no_bills(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    child = fixture("child")
    assert not _expected(child)
    body = await ask(gateway, resident_token(child), BILLS)
    assert body == {"data": {"me": {"bills": []}}}


async def test_utilities_down_costs_only_the_bills(make_gateway: GatewayFactory, admin: Admin) -> None:
    gateway = await resident_gateway(make_gateway)
    await admin.fault("utilities", down=True)
    body = await ask(
        gateway, resident_token(fixture("senior_pudong")), "{ me { bills { id } profile { name } } }"
    )
    assert body["data"]["me"]["bills"] == [] and body["data"]["me"]["profile"]["name"]
    assert {e["extensions"]["department"] for e in body["errors"]} == {"utilities"}


async def test_an_account_number_with_odd_characters_is_not_followed(make_gateway: GatewayFactory) -> None:
    def steer(department: str, text: str) -> str:
        # the accounts answer is read from a field that holds an address, full of spaces and slashes
        return text.replace("key: accountNo", "key: address") if department == "utilities" else text

    gateway = await resident_gateway(make_gateway, edit=steer)
    body = await ask(gateway, resident_token(fixture("senior_pudong")), BILLS)
    assert body["data"]["me"]["bills"] == []
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UPSTREAM_BAD_RESPONSE"]


def test_for_each_needs_the_operation_that_finds_the_keys() -> None:
    text = (SPECS / "utilities.yaml").read_text(encoding="utf-8")
    without_accounts = text.replace("  accounts:\n", "  unused_accounts:\n")
    for broken, problem in (
        (without_accounts, "accounts"),
        (text.replace("/api/accounts/{key}/bills", "/api/accounts/bills"), "{key}"),
    ):
        try:
            parse_spec(broken)
        except ValueError as exc:
            assert problem in str(exc)
        else:
            raise AssertionError("accepted a spec it cannot run")


async def test_staff_need_bills_in_their_scope(make_gateway: GatewayFactory) -> None:
    from tests.access_support import consent, staff_token, start_session

    gateway = await resident_gateway(make_gateway)
    resident = fixture("senior_pudong")
    session = await start_session(gateway, staff_token(), resident, ["PROFILE"])
    await consent(gateway, resident_token(resident), session["id"])
    query = "query($id: ID!) { resident(id: $id) { bills { id } } }"
    refused(await ask(gateway, staff_token(), query, id=session["residentId"]), "CONSENT_REQUIRED")


async def test_the_utilities_own_numbers_for_the_resident(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    resident = fixture("senior_pudong")
    body = await ask(gateway, resident_token(resident), "{ me { accounts { departmentId number kind } } }")
    accounts = [a for a in WORLD.accounts_of(resident.household_id) if a.holder == resident.id_number]
    assert sorted(body["data"]["me"]["accounts"], key=lambda a: a["number"]) == sorted(
        ({"departmentId": "utilities", "number": a.account_no, "kind": a.utility.upper()} for a in accounts),
        key=lambda a: a["number"],
    )
