"""The SDL is usable by front-end tooling: graphql-codegen (typescript + typescript-operations) over the
committed ``schema.graphql`` and the README's example operations, compiled with ``tsc --strict``.

The README's ```graphql blocks are taken mechanically, so an example that no longer fits the schema
fails here (codegen validates every document against the schema) as it would fail a front-end's build.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from graphql import DocumentNode, OperationDefinitionNode, parse, print_ast
from graphql.language import NameNode

from config import PROJECT_ROOT
from tests.tools import JS_DIR, node_bin

DOCUMENTED = (PROJECT_ROOT / "README.md",)
BLOCK = re.compile(r"^```graphql\n(.*?)^```", re.MULTILINE | re.DOTALL)
LIMIT_S = 120


def documented_documents() -> list[DocumentNode]:
    """Every ```graphql block as one document. A block may hold several operations and its fragments;
    anonymous operations get a name (``ReadmeExample<n>``) so codegen gives them types."""
    documents: list[DocumentNode] = []
    count = 0
    for path in DOCUMENTED:
        for block in BLOCK.findall(path.read_text(encoding="utf-8")):
            definitions = []
            for definition in parse(block).definitions:
                if isinstance(definition, OperationDefinitionNode):
                    count += 1
                    if definition.name is None:
                        definition = replace(definition, name=NameNode(value=f"ReadmeExample{count}"))
                definitions.append(definition)
            documents.append(DocumentNode(definitions=tuple(definitions)))
    return documents


def test_the_readme_has_examples_of_every_operation_type() -> None:
    operations = [
        d
        for document in documented_documents()
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]
    assert len(operations) >= 6
    for kind in ("query", "mutation", "subscription"):
        assert any(o.operation.value == kind for o in operations), kind


def run(argv: list[str], environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, cwd=JS_DIR, env=os.environ | (environ or {}), capture_output=True, text=True, timeout=LIMIT_S
    )
    assert result.returncode == 0, f"{argv[0]}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


USAGE = """import type { ReadmeExample1Query, CaseStatus } from './types';

// the generated types are real: a field is typed, a missing one is an error
export function fees(data: ReadmeExample1Query): number[] {
  return data.services.edges.map((edge) => edge.node.feeFen);
}
export function firstName(data: ReadmeExample1Query): string | undefined {
  // @ts-expect-error: Service has no field `price`
  return data.services.edges[0]?.node.price;
}
export const submitted: CaseStatus = 'SUBMITTED';
"""


# strict, and no ambient @types from tests/js/node_modules: only the generated code and its use
TSCONFIG = """{"compilerOptions": {"strict": true, "noEmit": true, "target": "es2022", "module": "esnext",
  "moduleResolution": "bundler", "types": [], "noUnusedLocals": true}, "files": ["types.ts", "usage.ts"]}"""


def test_codegen_types_from_schema_graphql_compile_with_tsc(tmp_path: Path) -> None:
    codegen, tsc = node_bin("graphql-codegen"), node_bin("tsc")
    documents = tmp_path / "operations"
    documents.mkdir()
    for index, document in enumerate(documented_documents(), 1):
        (documents / f"example{index}.graphql").write_text(print_ast(document) + "\n", encoding="utf-8")
    types = tmp_path / "types.ts"
    started = time.monotonic()
    run(
        [codegen, "--config", "codegen.yml"],
        {"CODEGEN_DOCUMENTS": f"{documents}/*.graphql", "CODEGEN_OUT": str(types)},
    )
    generated_s = time.monotonic() - started
    text = types.read_text(encoding="utf-8")
    assert "export type ReadmeExample1Query = {" in text and "feeFen: number" in text
    (tmp_path / "usage.ts").write_text(USAGE, encoding="utf-8")
    (tmp_path / "tsconfig.json").write_text(TSCONFIG, encoding="utf-8")
    run([tsc, "--project", str(tmp_path / "tsconfig.json")])
    print(f"codegen {generated_s:.1f} s, tsc {time.monotonic() - started - generated_s:.1f} s")
