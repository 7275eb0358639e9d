"""Eligibility criteria written the ways the departments publish them: JSON values, or XML text.

Every department lists its services' criteria as `{fact, op, value, text}`; they differ only in how a
value survives their format (JSON keeps types, XML attributes only hold text), so those two
renderings live here once.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from mocks.world import Criterion, CriterionValue


def criterion_value_json(value: CriterionValue) -> str | int | bool | list[str]:
    """A criterion's value as a JSON-native value: 65, true, "浦东新区" or ["LOW", "LOWER_MIDDLE"]."""
    return list(value) if isinstance(value, tuple) else value


def criterion_value_text(value: CriterionValue) -> str:
    """A criterion's value where only text fits (XML attributes): "65", "true", "LOW,LOWER_MIDDLE".

    XML has no types, so the departments write values the way the gateway reads them back.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def criteria_json(criteria: tuple[Criterion, ...]) -> list[dict[str, Any]]:
    """A service's criteria as `[{fact, op, value, text}]` — the canonical facts and ops, the
    department's own wording."""
    return [criterion_json(c) for c in criteria]


def criterion_json(criterion: Criterion) -> dict[str, Any]:
    """One criterion as `{fact, op, value, text}`: numbers stay numbers, `in` lists stay lists."""
    return {
        "fact": criterion.fact,
        "op": criterion.op,
        "value": criterion_value_json(criterion.value),
        "text": criterion.text_zh,
    }


def criterion_xml(criterion: Criterion, prefix: str) -> str:
    """One `<prefix:Criterion fact= op= value=>wording</prefix:Criterion>` element, as the SOAP
    services write it: the condition in attributes, the wording a resident reads as content."""
    return (
        f"<{prefix}:Criterion fact={quoteattr(criterion.fact)} op={quoteattr(criterion.op)}"
        f" value={quoteattr(criterion_value_text(criterion.value))}>"
        f"{escape(criterion.text_zh)}</{prefix}:Criterion>"
    )


def criteria_compact_json(criteria: tuple[Criterion, ...]) -> str:
    """`criteria_json` as one compact JSON text, Chinese kept readable (a CSV cell's criteria)."""
    return json.dumps(criteria_json(criteria), ensure_ascii=False, separators=(",", ":"))
