"""Spec validation: a bad spec is refused with every problem named, and nothing half-loaded."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from connectors.spec import (
    ConnectorSpec,
    SpecSyntaxError,
    SpecVariableError,
    interpolate,
    parse_spec,
    spec_json_schema,
)
from tests.conftest import SPECS

MINIMAL = """
id: demo
name: {zh: 示例局, en: Demo Bureau}
base_url: http://127.0.0.1:9/demo
format: {kind: json}
operations:
  catalog:
    path: /services
    items: items
    mapping: {id: code, name_zh: name, category: {path: cat, values: {a: HEALTH}, fallback: OTHER}}
"""


def problems(text: str) -> str:
    with pytest.raises((ValidationError, ValueError)) as caught:
        parse_spec(text, {})
    return str(caught.value)


def test_every_bundled_spec_is_valid() -> None:
    for path in SPECS.glob("*.yaml"):
        spec = parse_spec(path.read_text(encoding="utf-8"), {})
        assert spec.id == path.stem


def test_minimal_spec_gets_safe_defaults() -> None:
    spec = parse_spec(MINIMAL, {})
    assert spec.auth.kind == "none"
    assert spec.policy.retries == 2 and spec.policy.timeout_s == 3.0
    assert spec.operations["catalog"].pagination.style == "none"
    assert spec.operations["catalog"].mapping["id"].path == "code"  # shorthand expanded


def test_a_typo_in_a_key_is_refused_with_its_location() -> None:
    message = problems(MINIMAL + "policy: {timout_s: 1}\n")
    assert "policy.timout_s" in message and "Extra inputs are not permitted" in message


def test_every_mapping_problem_is_listed_at_once() -> None:
    text = MINIMAL.replace(
        "mapping: {id: code, name_zh: name, category: {path: cat, values: {a: HEALTH}, fallback: OTHER}}",
        "mapping: {id: code, colour: x, fee_fen: {path: f, convert: datetime}, "
        "category: {path: c, values: {a: HEALTHY}}}",
    )
    message = problems(text)
    assert "operations.catalog.mapping: 'name_zh' is required" in message
    assert "mapping.colour: not a field of this record" in message
    assert "mapping.fee_fen.convert: 'datetime'" in message
    assert "mapping.category.values.a: 'HEALTHY' is not one of" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("kind: json", "kind: yaml"), "format"),
        (("http://127.0.0.1:9/demo", "ftp://x"), "base_url"),
        (("id: demo", "id: Demo Bureau!"), "id"),
        (("path: /services", "path: services"), "must start with /"),
        (("format: {kind: json}", "format: {kind: csv, charset: klingon}"), "unknown charset"),
        (("format: {kind: json}", "format: {kind: json, charset: klingon}"), "unknown charset"),
        (("format: {kind: json}", "format: {kind: xml, charset: klingon}"), "unknown charset"),
        (
            ("format: {kind: json}", "format: {kind: json}\nauth: {kind: api_key, key: k, header: null}"),
            "exactly one of header or query_param",
        ),
        (("catalog:", "bills:"), "operations"),
    ],
)
def test_bad_values_are_refused(change: tuple[str, str], expected: str) -> None:
    assert expected in problems(MINIMAL.replace(*change))


def test_not_a_mapping_and_not_yaml() -> None:
    assert "mapping at the top level" in problems("- just\n- a list\n")
    with pytest.raises(SpecSyntaxError, match="line 2, column 1: expected ',' or ']'"):
        parse_spec("id: [unclosed\n", {})


def test_variables_come_from_the_environment_and_unset_ones_fail() -> None:
    assert interpolate("${A}/${B:-b}/${C:-}", {"A": "a"}) == "a/b/"
    with pytest.raises(SpecVariableError, match=r"\$\{SECRET\} is not set"):
        interpolate("key: ${SECRET}", {})


def test_secrets_are_not_shown_when_a_spec_is_printed() -> None:
    spec = parse_spec((SPECS / "hrss.yaml").read_text(encoding="utf-8"), {"HRSS_CLIENT_SECRET": "s3cr3t"})
    assert "s3cr3t" not in repr(spec) and "s3cr3t" not in spec.model_dump_json()


def test_json_schema_is_published_and_describes_the_spec() -> None:
    schema = spec_json_schema()
    assert schema["title"] == "ConnectorSpec"
    assert {"id", "base_url", "format", "operations"} <= set(schema["required"])
    json.dumps(schema)  # serialisable as is, for editors
    assert ConnectorSpec.model_json_schema() == schema


def test_published_json_schema_is_up_to_date() -> None:
    from config import PROJECT_ROOT

    published = json.loads((PROJECT_ROOT / "docs" / "connector-spec.schema.json").read_text(encoding="utf-8"))
    assert published == spec_json_schema(), (
        "regenerate: python -m connectors.spec > docs/connector-spec.schema.json"
    )


@pytest.mark.parametrize(
    ("ok_codes", "code", "ok"),
    [
        ((0,), 0, True),
        ((0,), "0", True),
        ((0,), 5001, False),
        ((True,), True, True),
        ((True,), "true", True),
        ((True,), False, False),
        ((200,), "200", True),
    ],
)
def test_envelope_codes_match_as_themselves_or_as_text(ok_codes: tuple, code: object, ok: bool) -> None:  # type: ignore[type-arg]
    from connectors.spec import Envelope

    assert Envelope(ok_codes=ok_codes).is_ok(code) is ok
