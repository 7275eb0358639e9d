"""docs/spec-reference.md is generated from the spec's JSON Schema and must match what the gateway
accepts today."""

from __future__ import annotations

from config import PROJECT_ROOT
from connectors.spec_reference import reference

REFERENCE = PROJECT_ROOT / "docs" / "spec-reference.md"


def test_the_spec_reference_is_up_to_date() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == reference(), (
        "docs/spec-reference.md is stale: run `python -m connectors.spec_reference > docs/spec-reference.md`"
    )


def test_every_section_and_key_of_the_spec_is_in_the_reference() -> None:
    text = reference()
    for section in ("## ConnectorSpec", "## Operation", "## FieldMap", "## Policy", "## ProbeSamples"):
        assert section in text
    assert "| `timeout_s` | number (> 0, ≤ 120) |" in text
    assert '| `kind` | `"api_key"` | yes |' in text
