"""The bugs department IT met on the documented onboarding path (issue 13), each pinned by a test that
failed before: the probe with a sample resident, a GB18030 prolog, a self-referential suggestion, a fee
that could not be read, and probe failures that say what was asked and what came back."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import orjson
import pytest

from config import PROJECT_ROOT
from connectors.formats import decode_page
from connectors.mapping import map_records
from connectors.probe import probe
from connectors.spec import JsonFormat, Operation, XmlFormat, parse_spec
from connectors.spec_check import check_spec
from connectors.transport import UpstreamResponse
from mocks.server import RunningMocks
from mocks.world import DEFAULT_SEED, build_world
from observability.context import REQUEST_ID
from observability.logging import JsonFormatter

SPECS = PROJECT_ROOT / "connectors" / "specs"


def sample_resident() -> str:
    return build_world(DEFAULT_SEED).residents[0].id_number


def with_probe(path: Path, resident: str) -> str:
    return path.read_text(encoding="utf-8") + f'\nprobe: {{resident_id: "{resident}"}}\n'


@pytest.mark.parametrize("name", sorted(p.stem for p in SPECS.glob("*.yaml")))
async def test_a_probe_resident_no_longer_breaks_every_operation(
    mocks: RunningMocks, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("ONESTOP_MOCKS_URL", mocks.url)
    spec = parse_spec(with_probe(SPECS / f"{name}.yaml", sample_resident()), os.environ)
    report = await probe(spec)
    by = {o.capability: o for o in report.operations}
    assert report.ok, report  # every operation, the resident's included, and no partial catalogue
    assert not any("connector failed" in p for o in report.operations for p in o.problems)
    if "applications" in by:  # a submission makes a case: never sent to try a spec
        assert by["applications"].skipped


async def test_a_connector_failure_in_the_probe_is_logged_with_its_traceback(
    mocks: RunningMocks, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ONESTOP_MOCKS_URL", mocks.url)
    spec = parse_spec((SPECS / "housing.yaml").read_text(encoding="utf-8"), os.environ)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the connector")

    monkeypatch.setattr("connectors.adapter.map_records", broken)
    token = REQUEST_ID.set("req-probe-1")
    try:
        with caplog.at_level(logging.ERROR, logger="connectors.probe"):
            report = await probe(spec)
    finally:
        REQUEST_ID.reset(token)
    catalog = next(o for o in report.operations if o.capability == "catalog")
    assert not catalog.ok
    assert catalog.problems[0].startswith("the connector failed: RuntimeError: a bug in the connector")
    assert catalog.problems[1].startswith("last request: GET /housing/xml/services -> HTTP 200")
    [record] = [r for r in caplog.records if "catalog" in r.getMessage()]
    line = orjson.loads(JsonFormatter().format(record))  # as the gateway's log writes it
    assert line["request_id"] == "req-probe-1" and "Traceback" in line["exception"]
    assert "RuntimeError: a bug in the connector" in line["exception"]


async def test_a_probe_failure_names_the_request_the_status_and_the_first_bytes(
    mocks: RunningMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONESTOP_MOCKS_URL", mocks.url)
    text = (SPECS / "tax.yaml").read_text(encoding="utf-8")
    spec = parse_spec(text, os.environ)
    wrong = spec.operations["catalog"].model_copy(update={"path": spec.operations["catalog"].path + "-gone"})
    spec = spec.model_copy(update={"operations": {"catalog": wrong}})
    [catalog] = (await probe(spec)).operations
    assert not catalog.ok
    assert catalog.problems[0] == "UPSTREAM_BAD_RESPONSE: department refused the request (HTTP 404)"
    assert catalog.problems[1].startswith(f"last request: GET /tax{wrong.path} -> HTTP 404, ")
    assert "bytes: '" in catalog.problems[1]


GB18030_XML = '<?xml version="1.0" encoding="GB18030"?><cases><case><id>一</id></case></cases>'


def test_an_xml_answer_in_gb18030_is_read_by_its_prolog() -> None:
    answer = UpstreamResponse(200, {}, GB18030_XML.encode("gb18030"), "text/xml", None)
    page = decode_page(answer, XmlFormat(kind="xml"), "case", "demo")
    assert [item.findtext("id") for item in page.items] == ["一"]


def test_the_charset_comes_from_the_answer_unless_the_spec_forces_one() -> None:
    body = '{"data": [{"名称": "档案"}]}'.encode("gb18030")
    by_header = UpstreamResponse(200, {}, body, "application/json", "gb18030")
    assert decode_page(by_header, JsonFormat(kind="json"), "data", "demo").items == [{"名称": "档案"}]
    bom = UpstreamResponse(200, {}, b"\xef\xbb\xbf" + b'{"data": [1]}', "application/json", None)
    assert decode_page(bom, JsonFormat(kind="json"), "data", "demo").items == [1]
    forced = UpstreamResponse(200, {}, body, "application/json", "utf-8")  # the header lies
    page = decode_page(forced, JsonFormat(kind="json", charset="gb18030"), "data", "demo")
    assert page.items == [{"名称": "档案"}]


def test_a_key_of_another_section_is_not_suggested_as_itself() -> None:
    text = (PROJECT_ROOT / "docs" / "examples" / "archives.yaml").read_text(encoding="utf-8")
    broken = text.replace("    cache_ttl_s: 300\n", "    cache_ttl_s: 300\n    webhook: x\n")
    check = check_spec(broken, {"ARCHIVES_URL": "http://127.0.0.1:1"})
    [problem] = [p for p in check.problems if p.path.endswith("webhook")]
    assert problem.message == "unknown key 'webhook' here"
    assert problem.expected == "'webhook' only in ConnectorSpec"
    assert "expected 'webhook'?" not in str(problem)


def test_a_fee_that_cannot_be_read_is_reported_not_free() -> None:
    operation = Operation.model_validate(
        {
            "path": "/s",
            "mapping": {
                "id": "code",
                "name_zh": "name",
                "category": {"path": "cat", "values": {"m": "HEALTH"}},
                "fee_fen": {"path": "fee", "convert": "money"},
            },
        }
    )
    items = [
        {"code": "A", "name": "甲", "cat": "m", "fee": "¥12.50"},
        {"code": "B", "name": "乙", "cat": "m", "charge": "5元"},  # renamed field: unknown, not free
        {"code": "C", "name": "丙", "cat": "m", "fee": "12.5x"},
    ]
    from connectors.formats import JsonReader

    result = map_records(items, JsonReader(), operation, "catalog", "demo")
    assert [(r.id, r.fee_fen) for r in result.records] == [("A", 1250)]
    assert result.problems[0].startswith(
        "item 1 (id B): operations.catalog.mapping.fee_fen (from 'fee'): no amount"
    )
    assert result.problems[1].startswith(
        "item 2 (id C): operations.catalog.mapping.fee_fen (from 'fee'): '12.5x'"
    )


def test_the_schema_editors_use_offers_the_new_habits() -> None:
    from connectors.spec import spec_json_schema

    schema = spec_json_schema()
    definitions = schema["$defs"]
    assert definitions["TokenLoginAuth"]["properties"]["kind"]["const"] == "token_login"
    assert definitions["SignedAuth"]["properties"]["algorithm"]["enum"] == ["md5", "sha256", "hmac_sha256"]
    assert definitions["NextLinkPagination"]["properties"]["style"]["const"] == "next_link"
    operation = definitions["Operation"]["properties"]
    assert {"format", "auth", "base_path"} <= set(operation)
    field_map = definitions["FieldMap"]["properties"]
    assert {"money", "duration_days"} <= set(field_map["convert"]["enum"])
    assert {"expr", "time_zone", "true_words", "join", "trim"} <= set(field_map)
    assert "yyyy年M月d日" in field_map["date_format"]["description"]


def test_an_operations_own_auth_may_not_reach_a_host_outside_the_allowed() -> None:
    text = (PROJECT_ROOT / "docs" / "examples" / "archives.yaml").read_text(encoding="utf-8")
    sneaky = text.replace(
        "    cache_ttl_s: 300\n",
        "    cache_ttl_s: 300\n    auth: {kind: oauth2_client_credentials, token_url: 'http://169.254.169.254/t',"
        " client_id: x, client_secret: '${S:-s}'}\n",
    )
    check = check_spec(
        sneaky, {"ARCHIVES_URL": "http://archives.pudong.gov.cn"}, allowed_hosts=["*.pudong.gov.cn"]
    )
    assert [(p.path, p.message) for p in check.problems] == [
        ("operations.catalog.auth.token_url", "host '169.254.169.254' is not allowed here")
    ]
