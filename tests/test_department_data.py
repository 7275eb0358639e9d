"""Issue 16, item 4, as the gateway serves it: with every department answering, no eligibility
criterion of the catalogue is UNKNOWN for any fixture resident, and every outcome is the one the
departments' own rules give (`mocks.people.is_eligible`)."""

from __future__ import annotations

from typing import Any

from mocks.people import is_eligible
from mocks.world import FIXTURE_RESIDENTS
from tests.access_support import WORLD, ask, resident_gateway, resident_token
from tests.conftest import GatewayFactory

ELIGIBILITY = """{ me { eligibility {
  service { id } outcome criteria { fact result reason sourceDepartment { id } }
} } }"""


async def test_no_criterion_is_unknown_when_every_department_answers(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    unknown: list[tuple[str, str, str, str]] = []
    wrong: list[tuple[str, str, str]] = []
    counted = 0
    for name, index in FIXTURE_RESIDENTS.items():
        resident = WORLD.residents[index]
        body = await ask(gateway, resident_token(resident), ELIGIBILITY)
        assert not body.get("errors"), (name, body.get("errors"))
        found: dict[str, dict[str, Any]] = {e["service"]["id"]: e for e in body["data"]["me"]["eligibility"]}
        assert set(found) == {s.code for s in WORLD.catalogue}, name
        for service in WORLD.catalogue:
            entry = found[service.code]
            for criterion in entry["criteria"]:
                counted += 1
                if criterion["result"] not in ("PASS", "FAIL"):
                    unknown.append((name, service.code, criterion["fact"], criterion["reason"]))
            expected = "ELIGIBLE" if is_eligible(resident, service) else "INELIGIBLE"
            if entry["outcome"] != expected:
                wrong.append((name, service.code, entry["outcome"]))
    assert counted == len(FIXTURE_RESIDENTS) * sum(len(s.criteria) for s in WORLD.catalogue)
    assert not unknown, f"{len(unknown)} of {counted} criteria UNKNOWN: {unknown[:10]}"
    assert not wrong, wrong
