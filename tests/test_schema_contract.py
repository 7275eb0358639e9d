"""The schema as a contract: ``schema.graphql`` is the code's schema, a breaking change needs a reviewed
acknowledgement, and every type, field, argument and enum value says what it is."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    build_schema,
    specified_scalar_types,
)

from cli.main import main
from schema import build_schema as build_onestop_schema
from schema.contract import (
    CHANGES_FILE,
    SCHEMA_FILE,
    Acknowledged,
    client_schema,
    client_sdl,
    compare,
    load_acknowledged,
)

COMMITTED = SCHEMA_FILE.read_text(encoding="utf-8")
FEE_FEN = '  """Fee in fen (1/100 yuan); 0 when free"""\n  feeFen: Int!\n'
REMOVED = "Field Service.feeFen was removed."


def test_schema_graphql_is_the_codes_schema() -> None:
    assert client_sdl(build_onestop_schema()) == COMMITTED, (
        "schema.graphql differs from the code's schema: run `onestop schema print --write` "
        "(or `onestop schema print > schema.graphql`) and commit it"
    )


def test_schema_check_passes_on_the_committed_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "check"]) == 0, capsys.readouterr().err
    assert load_acknowledged(CHANGES_FILE) is not None  # the committed file parses


def without_fee(sdl: str) -> str:
    assert FEE_FEN in sdl
    return sdl.replace(FEE_FEN, "")


def test_a_removed_field_is_breaking_unless_acknowledged() -> None:
    new_sdl = without_fee(COMMITTED)  # the code's schema after someone deleted Service.feeFen
    new = build_schema(new_sdl)
    refused = compare(COMMITTED, new, new_sdl, [])
    assert [c.description for c in refused.unacknowledged] == [REMOVED]
    assert not refused.ok and not refused.current
    accepted = compare(COMMITTED, new, new_sdl, [Acknowledged(REMOVED, "replaced by Service.fee")])
    assert accepted.ok and [c.description for c in accepted.breaking] == [REMOVED]


def test_additions_are_not_breaking() -> None:
    new_sdl = COMMITTED.replace("  feeFen: Int!\n", "  feeFen: Int!\n  feeYuan: Float\n")
    verdict = compare(COMMITTED, build_schema(new_sdl), new_sdl, [])
    assert verdict.ok and not verdict.breaking and not verdict.current


def committed_with_fee_elsewhere(tmp_path: Path) -> Path:
    """A committed schema.graphql whose Service has a field the code does not: as if the code removed it."""
    path = tmp_path / "schema.graphql"
    path.write_text(COMMITTED.replace("  feeFen: Int!\n", "  feeFen: Int!\n  feeYuan: Float!\n"), "utf-8")
    return path


def changes_file(tmp_path: Path, *changes: str) -> Path:
    path = tmp_path / "schema-changes.yaml"
    entries = "".join(f'  - change: "{c}"\n    reason: "agreed with the app team"\n' for c in changes)
    path.write_text("acknowledged:\n" + (entries or "  []\n"), "utf-8")
    return path


def test_check_and_write_refuse_an_unacknowledged_break(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = committed_with_fee_elsewhere(tmp_path)
    before = committed.read_text("utf-8")
    paths = ["--schema", str(committed), "--changes", str(changes_file(tmp_path))]
    assert main(["schema", "check", *paths]) == 1
    err = capsys.readouterr().err
    assert (
        "BREAKING FIELD_REMOVED: Field Service.feeYuan was removed." in err and "schema-changes.yaml" in err
    )
    assert main(["schema", "print", "--write", *paths]) == 1
    assert committed.read_text("utf-8") == before  # left as it was


def test_an_acknowledged_break_is_written_and_then_checks_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = committed_with_fee_elsewhere(tmp_path)
    paths = [
        "--schema",
        str(committed),
        "--changes",
        str(changes_file(tmp_path, "Field Service.feeYuan was removed.")),
    ]
    assert main(["schema", "check", *paths]) == 1  # acknowledged, but the file is still out of date
    assert "differs from the code's schema; run `onestop schema print --write`" in capsys.readouterr().err
    assert main(["schema", "print", "--write", *paths]) == 0
    assert committed.read_text("utf-8") == COMMITTED
    assert main(["schema", "check", *paths]) == 0


def test_a_release_baseline_catches_a_break_written_without_acknowledgement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release = committed_with_fee_elsewhere(tmp_path)  # the last release still had Service.feeYuan
    args = ["schema", "check", "--breaking-only", "--schema", str(release)]
    assert main([*args, "--changes", str(changes_file(tmp_path))]) == 1
    assert "Field Service.feeYuan was removed." in capsys.readouterr().err
    assert main([*args, "--changes", str(changes_file(tmp_path, "Field Service.feeYuan was removed."))]) == 0
    assert "has no unacknowledged break from the code" in capsys.readouterr().out


def test_dangerous_changes_are_reported_not_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = tmp_path / "schema.graphql"
    submitted = '\n  """已提交 / Submitted, not yet taken up"""\n  SUBMITTED\n'
    assert submitted in COMMITTED
    committed.write_text(COMMITTED.replace(submitted, "\n", 1), "utf-8")  # as if the code added SUBMITTED
    paths = ["--schema", str(committed), "--changes", str(changes_file(tmp_path))]
    assert main(["schema", "print", "--write", *paths]) == 0
    assert (
        "dangerous VALUE_ADDED_TO_ENUM: Enum value CaseStatus.SUBMITTED was added." in capsys.readouterr().out
    )
    assert committed.read_text("utf-8") == COMMITTED


def test_a_bad_changes_file_is_a_clear_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "schema-changes.yaml"
    bad.write_text('acknowledged:\n  - change: "Service.feeFen was removed."\n', "utf-8")
    assert main(["schema", "check", "--changes", str(bad)]) == 1
    assert "entry 0 needs a `change` and a `reason`" in capsys.readouterr().err


def test_print_federation_is_the_subgraph(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "print", "--federation"]) == 0
    out = capsys.readouterr().out
    assert 'type Service @key(fields: "id")' in out and "_entities(" in out
    assert main(["schema", "print"]) == 0
    assert capsys.readouterr().out == COMMITTED


def test_the_contract_is_the_served_schema_minus_the_federation_plumbing() -> None:
    served = build_onestop_schema()._schema
    client = client_schema(served)
    assert set(served.type_map) - set(client.type_map) == {
        "_Any",
        "_Entity",
        "_Service",
        "_FieldSet",
        "link__Import",
        "link__Purpose",
    }
    assert set(served.type_map) >= set(client.type_map)
    assert set(served.query_type.fields) - set(client.query_type.fields) == {"_service", "_entities"}  # type: ignore[union-attr]
    assert "_service" not in COMMITTED and "@key" not in COMMITTED


def missing_descriptions(named: GraphQLNamedType) -> list[str]:
    missing = [] if named.description else [f"type {named.name}"]
    if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
        for name, field in named.fields.items():
            if not field.description:
                missing.append(f"{named.name}.{name}")
            for argument, value in getattr(field, "args", {}).items():
                if not value.description:
                    missing.append(f"{named.name}.{name}({argument})")
    if isinstance(named, GraphQLEnumType):
        missing += [f"{named.name}.{v}" for v, value in named.values.items() if not value.description]
    return missing


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    schema = build_schema(COMMITTED)
    missing = [
        gap
        for name, named in schema.type_map.items()
        if not name.startswith("__") and name not in specified_scalar_types
        for gap in missing_descriptions(named)
    ]
    assert not missing, f"{len(missing)} without a description: {', '.join(missing)}"
