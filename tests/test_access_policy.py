"""The access policy alone (no GraphQL, no store): who may act for whom, for what; and the sealed
resident handles it reads."""

from __future__ import annotations

import pytest

from access.identifiers import ResidentSeal
from access.policy import AccessDenied, AccessPolicy, Purpose
from identity.digest import Digester
from identity.principal import Principal, Role

A, B = "310115195601011234", "31011519800202567X"
SEAL = ResidentSeal("policy-tests-secret")
DIGESTER = Digester("policy-tests-digest-key")


class Sessions:
    """Staff member "s1" has consent from B for PROFILE and CASES."""

    async def active_session(
        self, staff: Principal, resident_digest: str, purpose: Purpose | None
    ) -> str | None:
        consented = staff.subject == "s1" and resident_digest == DIGESTER.of(B)
        return "session-1" if consented and purpose in (None, Purpose.PROFILE, Purpose.CASES) else None


POLICY = AccessPolicy(Sessions(), SEAL.open, DIGESTER)
RESIDENT_A = Principal(A, Role.RESIDENT)
STAFF = Principal("s1", Role.STAFF, station="ST-1")


async def denied(principal: Principal | None, resident: str | None, purpose: Purpose) -> str:
    with pytest.raises(AccessDenied) as refused:
        await POLICY.acting_for(principal, resident, purpose)
    return refused.value.code


async def test_a_resident_acts_for_themself_only() -> None:
    acting = await POLICY.acting_for(RESIDENT_A, None, Purpose.CASES)
    assert (acting.resident_id, acting.session_id, acting.purpose) == (A, None, Purpose.CASES)
    assert (await POLICY.acting_for(RESIDENT_A, SEAL.seal(A), Purpose.BILLS)).resident_id == A
    assert await denied(RESIDENT_A, SEAL.seal(B), Purpose.PROFILE) == "FORBIDDEN"
    assert await denied(Principal("not-an-id-number", Role.RESIDENT), None, Purpose.PROFILE) == "FORBIDDEN"
    assert A not in repr(acting) and acting.resident_digest == acting.actor_digest == DIGESTER.of(A)


async def test_staff_act_within_the_consented_scope() -> None:
    acting = await POLICY.acting_for(STAFF, SEAL.seal(B), Purpose.CASES)
    assert (acting.resident_id, acting.session_id) == (B, "session-1")
    assert await denied(STAFF, SEAL.seal(B), Purpose.BILLS) == "CONSENT_REQUIRED"
    assert await denied(STAFF, SEAL.seal(A), Purpose.PROFILE) == "CONSENT_REQUIRED"
    assert (
        await denied(Principal("s2", Role.STAFF, station="ST-1"), SEAL.seal(B), Purpose.CASES)
        == "CONSENT_REQUIRED"
    )
    assert await denied(STAFF, SEAL.seal(B), Purpose.ACCESS_LOG) == "FORBIDDEN"
    assert await denied(STAFF, None, Purpose.PROFILE) == "FORBIDDEN"
    assert await denied(STAFF, "R1.forged", Purpose.PROFILE) == "FORBIDDEN"
    assert (await POLICY.reach(STAFF, SEAL.seal(B))).session_id == "session-1"


@pytest.mark.parametrize(
    "principal",
    [Principal("admin", Role.DEPT_ADMIN, department="tax"), Principal(B, Role.OPERATOR)],
    ids=["dept_admin", "operator"],
)
async def test_admins_and_operators_see_nobody(principal: Principal) -> None:
    for resident in (None, SEAL.seal(B)):
        for purpose in Purpose:
            assert await denied(principal, resident, purpose) == "FORBIDDEN"


async def test_no_token_no_personal_data() -> None:
    assert await denied(None, None, Purpose.PROFILE) == "UNAUTHENTICATED"
    assert await denied(None, SEAL.seal(B), Purpose.PROFILE) == "UNAUTHENTICATED"


def test_handles_are_stable_opaque_and_tamper_evident() -> None:
    handle = SEAL.seal(B)
    assert handle == SEAL.seal(B) != SEAL.seal(A) and B not in handle and B[-4:] not in handle
    assert SEAL.open(handle) == B
    assert ResidentSeal("another-secret").open(handle) is None
    middle = len(handle) // 2  # a data character (the last one may hold only padding bits)
    assert SEAL.open(handle[:middle] + ("A" if handle[middle] != "A" else "B") + handle[middle + 1 :]) is None
    assert SEAL.open("") is None and SEAL.open(B) is None
