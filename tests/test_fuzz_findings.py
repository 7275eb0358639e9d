"""What the fuzz suite found, each pinned by the smallest test that failed before its fix."""

from __future__ import annotations

import pytest

from connectors.spec import SpecSyntaxError, parse_spec
from connectors.spec_check import check_spec
from identity.principal import Role
from identity.tokens import mint
from tests.access_support import SECRET, ask, codes, resident_gateway
from tests.conftest import GatewayFactory

# YAML reads these as dates; they are none, and the date constructor raised a bare ValueError
NOT_DATES = ["2026-13-45", "id: 2026-02-30", "name: x\nid: 2026-00-01 10:00:00"]


@pytest.mark.parametrize("text", NOT_DATES)
def test_a_spec_with_a_value_that_looks_like_a_date_is_a_problem_not_a_crash(text: str) -> None:
    check = check_spec(text, {})
    assert check.spec is None and check.problems, check
    assert "not a valid value" in check.problems[0].message
    with pytest.raises(SpecSyntaxError):
        parse_spec(text, {})


async def test_register_connector_refuses_such_a_spec_with_a_typed_answer(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await resident_gateway(make_gateway)
    operator = mint(SECRET, "operator-1", Role.OPERATOR)
    for mutation in (
        "mutation($s: String!) { registerConnector(spec: $s, force: true) { outcome validation { ok } } }",
        "mutation($s: String!) { validateConnector(spec: $s) { ok problems { message } } }",
    ):
        body = await ask(gateway, operator, mutation, s=NOT_DATES[0])
        assert not codes(body), body
        result = next(iter(body["data"].values()))
        assert (
            result.get("outcome", "REFUSED") == "REFUSED" and not (result.get("validation") or result)["ok"]
        )
