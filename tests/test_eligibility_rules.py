"""The eligibility rules alone, no GraphQL and no departments: how a criterion reads values, what an
absent or unknown fact does, how the outcome is decided, and what the next step is."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.records import Category, Channel, Criterion, ServiceRecord, StationRecord
from resolvers.eligibility import Check, Outcome, assess, check_criterion, holds_for, next_step
from resolvers.residents import FactReading, age_on, mask_id_number

NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)


def reading(fact: str, value: object, department: str = "public-security") -> FactReading:
    return FactReading(fact, value, department, NOW)


def unknown(fact: str) -> FactReading:
    return FactReading(fact, None, None, None, f"{fact} could not be fetched (tax: UPSTREAM_TIMEOUT)")


def service(*criteria: Criterion, channels: tuple[Channel, ...] = (Channel.STATION,)) -> ServiceRecord:
    return ServiceRecord(
        id="MZ-001",
        department="civil-affairs",
        name_zh="老年综合津贴",
        name_en="Senior allowance",
        description="",
        category=Category.SENIOR_CARE,
        channels=channels,
        fee_fen=0,
        processing_days=10,
        required_documents=("身份证", "户口簿"),
        updated_at=None,
        criteria=criteria,
    )


AGE_65 = Criterion("age", ">=", "65", "年满65周岁")
PUDONG = Criterion("hukou_district", "==", "浦东新区", "浦东户籍")
INCOME = Criterion("income_band", "in", "LOW,LOWER_MIDDLE", "低收入")
NOT_DISABLED = Criterion("disability_level", "!=", "1", "非一级残疾")


@pytest.mark.parametrize(
    ("criterion", "value", "holds"),
    [
        (AGE_65, 65, True),
        (AGE_65, 64, False),
        (Criterion("age", "<=", "18", ""), 18, True),
        (PUDONG, "浦东新区", True),
        (PUDONG, "黄浦区", False),
        (INCOME, "LOW", True),
        (INCOME, "MIDDLE", False),
        (Criterion("veteran", "==", "true", ""), True, True),
        (Criterion("veteran", "==", "true", ""), False, False),
        (Criterion("land_contract_mu", ">=", "5", ""), 6.5, True),
        (NOT_DISABLED, None, True),  # absent meets only !=
        (AGE_65, None, False),
        (INCOME, None, False),
    ],
)
def test_a_criterion_reads_values_by_the_facts_type(criterion: Criterion, value: object, holds: bool) -> None:
    assert holds_for(criterion, value) is holds


def test_a_fact_that_could_not_be_fetched_is_unknown_never_a_failure() -> None:
    check = check_criterion(INCOME, unknown("income_band"))
    assert check.check is Check.UNKNOWN and "tax" in check.reason and check.department is None
    result = assess(
        service(AGE_65, INCOME), {"age": reading("age", 70), "income_band": unknown("income_band")}
    )
    assert result.outcome is Outcome.UNKNOWN


def test_ineligible_only_on_a_fact_that_was_reported() -> None:
    result = assess(
        service(AGE_65, INCOME), {"age": reading("age", 40), "income_band": unknown("income_band")}
    )
    assert result.outcome is Outcome.INELIGIBLE
    assert [c.check for c in result.checks] == [Check.FAIL, Check.UNKNOWN]
    assert result.missing_documents == () and result.next_step.action == "NONE"


def test_each_check_says_what_with_which_value_from_where_and_why() -> None:
    result = assess(service(AGE_65), {"age": reading("age", 70)})
    [check] = result.checks
    assert (check.check, check.value_used, check.department, check.fetched_at) == (
        Check.PASS,
        "70",
        "public-security",
        NOW,
    )
    assert "70" in check.reason and ">= 65" in check.reason
    assert result.outcome is Outcome.ELIGIBLE and result.missing_documents == ("身份证", "户口簿")


def test_a_criterion_whose_value_cannot_be_read_is_unknown() -> None:
    check = check_criterion(Criterion("age", ">=", "sixty-five", ""), reading("age", 70))
    assert check.check is Check.UNKNOWN and "cannot be read" in check.reason


def station(code: str, latitude: float, town: str = "陆家嘴街道") -> StationRecord:
    return StationRecord(code, "community", f"站 {code}", town, "", latitude, 121.5, "", (), ("MZ-001",))


def test_next_step_online_first_then_the_nearest_station() -> None:
    online = service(channels=(Channel.STATION, Channel.APP))
    assert next_step(online, [], None, None).action == "APPLY_ONLINE"
    stations = [station("A", 31.30), station("B", 31.23), station("C", 31.10, town="川沙新镇")]
    step = next_step(service(), stations, (31.231, 121.5), None)
    assert step.station is not None and step.station.id == "B" and step.walk_minutes is not None
    by_town = next_step(service(), stations, None, "上海市浦东新区川沙新镇某路1号")
    assert by_town.station is not None and by_town.station.id == "C"
    assert next_step(service(), [], None, None).station is None


def test_ages_and_masks() -> None:
    assert age_on(date(1956, 11, 25), date(2026, 11, 25)) == 70
    assert age_on(date(1956, 11, 26), date(2026, 11, 25)) == 69
    assert mask_id_number("310115195611251234") == "310***********1234"
