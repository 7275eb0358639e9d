"""The mapping language: conversions, vocabularies, and bad items left out with a reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.formats import CsvReader, JsonReader
from connectors.mapping import MappingError, map_records, parse_datetime, parse_opening_hours, read_field
from connectors.spec import FieldMap, Operation
from domain.records import Category, Channel, OpeningPeriod

SHANGHAI_NOON = datetime(2018, 11, 21, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        ("2018-11-21T12:00:00+08:00", "iso"),
        ("2018-11-21T12:00:00", "iso"),  # no offset: Shanghai time
        (1542772800000, "epoch_ms"),
        ("1542772800", "epoch_s"),
    ],
)
def test_dates_in_every_format(value: object, fmt: str) -> None:
    assert parse_datetime(value, fmt) == SHANGHAI_NOON


def test_date_only_formats_are_midnight_shanghai() -> None:
    assert parse_datetime("20181121", "yyyyMMdd") == parse_datetime("2018-11-21", "iso")
    assert parse_datetime("20181121", "yyyyMMdd").utcoffset().total_seconds() == 8 * 3600


@pytest.mark.parametrize(
    ("value", "fmt"), [("2018-13-45", "iso"), ("2018112", "yyyyMMdd"), ("soon", "epoch_ms")]
)
def test_bad_dates_are_mapping_errors(value: str, fmt: str) -> None:
    with pytest.raises(MappingError):
        parse_datetime(value, fmt)


def test_opening_hours() -> None:
    periods = parse_opening_hours("1-5 09:00-17:00;6 0900-1200；7 08:30-11:30")
    assert len(periods) == 7
    assert periods[0] == OpeningPeriod(1, 9 * 60, 17 * 60)
    assert periods[5] == OpeningPeriod(6, 9 * 60, 12 * 60)
    for bad in ("Mon-Fri 9-5", "5-1 09:00-17:00", "1 18:00-09:00", "8 09:00-10:00"):
        with pytest.raises(MappingError):
            parse_opening_hours(bad)


@pytest.mark.parametrize(("text", "fen"), [("0.00", 0), ("12.5", 1250), ("1234.56", 123456), ("3", 300)])
def test_yuan_becomes_exact_fen(text: str, fen: int) -> None:
    assert read_field({"f": text}, JsonReader(), FieldMap(path="f", convert="yuan")) == fen


def test_fractions_of_a_fen_are_refused() -> None:
    with pytest.raises(MappingError, match="fractions of a fen"):
        read_field({"f": "0.001"}, JsonReader(), FieldMap(path="f", convert="yuan"))


def test_vocabulary_with_and_without_fallback() -> None:
    mapped = FieldMap(path="c", values={"weixin": "WECHAT"}, convert="list", split=",")
    assert read_field({"c": "weixin, weixin"}, JsonReader(), mapped) == ("WECHAT", "WECHAT")
    with pytest.raises(MappingError, match="not in the department's vocabulary"):
        read_field({"c": "fax"}, JsonReader(), mapped)
    fallback = FieldMap(path="c", values={"a": "HEALTH"}, fallback="OTHER")
    assert read_field({"c": "zzz"}, CsvReader(), fallback) == "OTHER"


OPERATION = Operation.model_validate(
    {
        "path": "/x",
        "mapping": {
            "id": "code",
            "name_zh": "name",
            "category": {"path": "cat", "values": {"m": "HEALTH"}},
            "channels": {"path": "ch", "convert": "list", "values": {"app": "APP"}},
            "fee_fen": {"path": "fee", "convert": "fen"},
        },
    }
)


def test_bad_items_are_left_out_and_described() -> None:
    items = [
        {"code": "A", "name": "甲", "cat": "m", "ch": ["app", "app"], "fee": 5},
        {"code": "B", "cat": "m"},  # no name
        {"code": "C", "name": "丙", "cat": "unknown"},
        {"code": "D", "name": "丁", "cat": "m", "fee": "five"},
    ]
    result = map_records(items, JsonReader(), OPERATION, "catalog", "demo")
    assert [r.id for r in result.records] == ["A"]
    record = result.records[0]
    assert record.category is Category.HEALTH and record.channels == (Channel.APP,) and record.fee_fen == 5
    assert len(result.problems) == 3
    assert result.problems[0] == "item 1 (id B): missing name_zh"
    assert "category (from 'cat')" in result.problems[1]
    assert "fee_fen (from 'fee'): 'five' is not a whole number" in result.problems[2]


def test_many_bad_items_are_summarised() -> None:
    result = map_records([{"code": str(i)} for i in range(40)], JsonReader(), OPERATION, "catalog", "demo")
    assert result.records == () and len(result.problems) == 6
    assert result.problems[-1] == "... 35 more items left out"


def test_xml_records_read_attributes_text_and_predicates() -> None:
    from defusedxml import ElementTree

    from connectors.formats import XmlReader

    item = ElementTree.fromstring(
        '<service code="A"><name lang="en">Pension</name><name lang="zh">养老金</name><criteria>'
        '<criterion fact="age" op="&gt;=" value="65">年满65周岁</criterion>'
        '<criterion fact="veteran" op="==" value="true">退役军人</criterion></criteria></service>'
    )
    reader = XmlReader({})
    criteria = FieldMap.model_validate(
        {
            "path": "criteria/criterion",
            "convert": "records",
            "fields": {
                "fact": "@fact",
                "op": "@op",
                "value": {"path": "@value", "convert": "value"},
                "text": ".",
            },
        }
    )
    assert read_field(item, reader, criteria) == (
        {"fact": "age", "op": ">=", "value": "65", "text": "年满65周岁"},
        {"fact": "veteran", "op": "==", "value": "true", "text": "退役军人"},
    )
    assert read_field(item, reader, FieldMap(path="name[@lang='zh']")) == "养老金"
    assert read_field(item, reader, FieldMap(path="@code")) == "A"


def test_criteria_sent_as_json_text_in_a_csv_column() -> None:
    column = (
        '[{"fact": "age", "op": ">=", "value": 60, "text": "60岁"},'
        ' {"fact": "income_band", "op": "in", "value": ["LOW", "MIDDLE"], "text": "低收入"}]'
    )
    criteria = FieldMap.model_validate(
        {
            "path": "条件",
            "convert": "records",
            "from_json": True,
            "fields": {
                "fact": "fact",
                "op": "op",
                "value": {"path": "value", "convert": "value"},
                "text": "text",
            },
        }
    )
    assert [c["value"] for c in read_field({"条件": column}, CsvReader(), criteria)] == ["60", "LOW,MIDDLE"]
