"""Validation never crashes on what department IT may type, and every problem it reports has a line."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.spec_check import check_spec
from tests.conftest import SPECS
from tests.onboarding_support import EXAMPLE

LINES = EXAMPLE.splitlines()


@st.composite
def edited_examples(draw: st.DrawFn) -> str:
    """The example with a few lines dropped, duplicated or cut short: the typical broken draft."""
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["drop", "duplicate", "cut", "indent"]))
        if edit == "drop":
            del lines[index]
        elif edit == "duplicate":
            lines.insert(index, lines[index])
        elif edit == "cut":
            lines[index] = lines[index][: draw(st.integers(0, max(0, len(lines[index]) - 1)))]
        else:
            lines[index] = "  " + lines[index]
        if not lines:
            break
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited_examples())
def test_a_broken_draft_gets_problems_with_lines_never_a_crash(text: str) -> None:
    check = check_spec(text, {}, lenient_variables=True)
    if check.spec is None:
        assert check.problems
        total = len(text.splitlines()) + 1
        assert all(p.line is not None and 1 <= p.line <= total for p in check.problems), check.problems


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_answered_with_problems_not_an_exception(text: str) -> None:
    check = check_spec(text, {}, lenient_variables=True)
    assert check.spec is not None or check.problems


def test_every_bundled_spec_passes_the_checks_department_it_gets() -> None:
    for path in sorted(SPECS.glob("*.yaml")):
        check = check_spec(path.read_text(encoding="utf-8"), {})
        assert check.ok, (path.name, [str(p) for p in check.problems])


def test_a_secret_written_into_a_spec_is_refused_with_its_line() -> None:
    literal = EXAMPLE.replace("${ARCHIVES_APP_KEY:-archives-dev-key}", "archives-dev-key")
    check = check_spec(literal, {})
    assert check.spec is None
    [problem] = check.problems
    assert problem.line is not None
    assert (problem.path, literal.splitlines()[problem.line - 1].strip()) == (
        "auth.key",
        "key: archives-dev-key",
    )
    assert problem.expected is not None and "${NAME}" in problem.expected


def test_variables_inside_flow_mappings_are_located_as_written() -> None:
    key = "${ARCHIVES_APP_KEY:-archives-dev-key}"
    block = f"auth:\n  kind: api_key\n  key: {key}\n  header: null\n  query_param: appkey\n"
    flow = f"auth: {{kind: api_key, key: {key}, header: null, query_param: appkey}}\n"
    assert block in EXAMPLE
    broken = EXAMPLE.replace(block, flow).replace("    cache_ttl_s: 300\n", "    cache_ttl: 300\n")
    [problem] = check_spec(broken, {}).problems
    assert problem.path == "operations.catalog.cache_ttl"
    assert problem.line is not None and broken.splitlines()[problem.line - 1] == "    cache_ttl: 300"
