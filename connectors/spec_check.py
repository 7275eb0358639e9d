"""Validation that teaches: every problem of a spec, each with its line, key path, what is wrong and
what was expected.

pydantic says *what* is wrong and *where in the data* (``loc``); the YAML node tree (``yaml.compose``
keeps each node's position) says where that is in the file. Positions are taken from the text as
written, before ``${VARIABLES}`` are substituted, so they are the lines the author sees. Mapping checks
that pydantic runs only once everything else is valid are also run per operation, so one pass lists
them all.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from connectors import spec as spec_module
from connectors.spec import (
    RECORDS,
    ConnectorSpec,
    FieldMap,
    SpecVariableError,
    _expand,
    interpolate,
    load_yaml,
    mapping_problems,
)

_FIELD: TypeAdapter[FieldMap] = TypeAdapter(FieldMap)
_VARIABLE = re.compile(r"\$\{[^}\n]*\}")
MASK = "$_"


def _masked(text: str) -> str:
    """The text with each ``${...}`` replaced by as many characters that YAML reads as a plain word, so
    positions stay those of the file while ``{x: ${A:-b}}`` (valid once substituted) parses."""
    return _VARIABLE.sub(lambda match: MASK + "_" * (len(match.group(0)) - len(MASK)), text)


_UNSET = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KEY_PATH = re.compile(r"^([^\s:]+): (.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Problem:
    path: str  # dotted key path, "" for the whole document
    message: str  # what is wrong
    expected: str | None = None  # what would be right, when it can be said
    line: int | None = None  # 1-based, in the text as written
    column: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "line ?"
        if self.column is not None:
            where += f", column {self.column}"
        text = f"{where}: {self.path or '(top level)'}: {self.message}"
        return f"{text} (expected {self.expected})" if self.expected else text


@dataclass(frozen=True, slots=True)
class SpecCheck:
    spec: ConnectorSpec | None
    problems: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    department: str | None = None  # the spec's `id`, when it has one, even if invalid

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.problems


def check_spec(
    text: str,
    environ: Mapping[str, str],
    lenient_variables: bool = False,
    allowed_hosts: Sequence[str] = (),
) -> SpecCheck:
    """Check a spec; never raises for a bad one. ``lenient_variables`` stands in a placeholder for
    variables not set here (checking a file on a laptop without the department's secrets).
    ``allowed_hosts`` (host patterns such as ``*.pudong.gov.cn``; empty: any) are the only hosts a spec
    may make the gateway call: a department admin's spec must not reach the gateway's own network."""
    warnings: list[str] = []
    if lenient_variables:
        missing = sorted({m.group(1) for m in _UNSET.finditer(text)} - set(environ))
        if missing:
            warnings.append("not set here (the gateway must have them): " + ", ".join(missing))
            environ = {**environ, **{name: "unset" for name in missing}}
    try:
        tree = yaml.compose(_masked(text))
    except yaml.YAMLError as exc:
        return SpecCheck(None, (_syntax_problem(exc),))
    department = _department(tree)
    try:
        raw = load_yaml(interpolate(text, environ))
    except SpecVariableError as exc:
        return SpecCheck(None, (_variable_problem(text, str(exc), tree),), tuple(warnings), department)
    except yaml.YAMLError as exc:  # a variable's value broke the YAML
        return SpecCheck(None, (_syntax_problem(exc),), tuple(warnings), department)
    if not isinstance(raw, dict):
        problem = Problem("", "a connector spec is a mapping at the top level", "keys such as id, name", 1, 1)
        return SpecCheck(None, (problem,), tuple(warnings), department)
    try:
        spec = ConnectorSpec.model_validate(raw)
    except ValidationError as exc:
        problems = _problems(exc, tree)
        problems.extend(_mapping_problems(raw, tree))  # the whole-spec check did not get to run
        return SpecCheck(None, tuple(_sorted(problems)), tuple(warnings), department)
    refused = _literal_secrets(spec, tree) + _host_problems(spec, tree, allowed_hosts)
    if refused:
        return SpecCheck(None, tuple(refused), tuple(warnings), spec.id)
    return SpecCheck(spec, (), tuple(warnings), spec.id)


def _literal_secrets(spec: BaseModel, tree: yaml.Node | None) -> list[Problem]:
    """Secrets must come from the gateways' environment: a spec is stored and shown as written."""
    problems = []
    for loc in _secret_locations(spec):
        node, path = _locate(tree, loc)
        value = _value_node(tree, loc)
        if isinstance(value, yaml.ScalarNode) and MASK not in str(value.value):
            problems.append(
                Problem(
                    ".".join(path),
                    "a secret written into the spec would be stored in the database and shown to admins",
                    "${NAME} (or ${NAME:-development value}) with NAME set on the gateways",
                    *_position(node),
                )
            )
    return problems


def _host_problems(spec: ConnectorSpec, tree: yaml.Node | None, allowed: Sequence[str]) -> list[Problem]:
    if not allowed:
        return []
    urls: list[tuple[tuple[str, ...], str]] = [(("base_url",), spec.base_url)]
    auths: list[tuple[tuple[str, ...], Any]] = [(("auth",), spec.auth)]
    auths += [(("operations", name, "auth"), op.auth) for name, op in spec.operations.items() if op.auth]
    for loc, auth in auths:  # an operation's own auth may not reach elsewhere either
        token_url = getattr(auth, "token_url", None)
        if isinstance(token_url, str) and "://" in token_url:
            urls.append(((*loc, "token_url"), token_url))
    problems = []
    for loc, url in urls:
        host = (urlsplit(url).hostname or "").lower()
        if not any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in allowed):
            node, path = _locate(tree, loc)
            expected = "a host matching " + ", ".join(allowed)
            problems.append(
                Problem(".".join(path), f"host '{host}' is not allowed here", expected, *_position(node))
            )
    return problems


def _secret_locations(model: BaseModel, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = []
    for name, value in model:
        if isinstance(value, SecretStr):
            found.append((*prefix, name))
        elif isinstance(value, BaseModel):
            found.extend(_secret_locations(value, (*prefix, name)))
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, SecretStr):
                    found.append((*prefix, name, key))
                elif isinstance(item, BaseModel):
                    found.extend(_secret_locations(item, (*prefix, name, key)))
    return found


def _value_node(tree: yaml.Node | None, loc: Sequence[str | int]) -> yaml.Node | None:
    node = tree
    for item in loc:
        found = _child(node, item)
        if found is None:
            return None
        node = found[1]
    return node


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.line is None, p.line or 0, p.path))


def _department(tree: yaml.Node | None) -> str | None:
    if isinstance(tree, yaml.MappingNode):
        for key, value in tree.value:
            if key.value == "id" and isinstance(value, yaml.ScalarNode):
                return str(value.value)
    return None


def _syntax_problem(exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "not valid YAML"
    context = getattr(exc, "context", None)
    message = f"{problem} ({context})" if context else str(problem)
    if mark is None:
        return Problem("", message, "YAML or JSON")
    return Problem("", message, "YAML or JSON", mark.line + 1, mark.column + 1)


def _variable_problem(text: str, message: str, tree: yaml.Node | None) -> Problem:
    name = message.split("}", 1)[0].removeprefix("${")
    expected = f"{name} set in the gateway's environment"
    for number, line in enumerate(text.splitlines(), start=1):
        column = line.find("${" + name)
        if column >= 0:
            return Problem(_path_at(tree, number - 1, column), message, expected, number, column + 1)
    return Problem("", message, expected)


def _path_at(node: yaml.Node | None, line: int, column: int, path: str = "") -> str:
    """The key path of the value written at (line, column), 0-based as YAML marks are."""
    children: list[tuple[str, yaml.Node]] = []
    if isinstance(node, yaml.MappingNode):
        children = [(str(key.value), value) for key, value in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = [(str(index), value) for index, value in enumerate(node.value)]
    for name, child in children:
        start, end = child.start_mark, child.end_mark
        if (start.line, start.column) <= (line, column) < (end.line, end.column) or (
            (start.line, start.column) == (line, column)
        ):
            return _path_at(child, line, column, f"{path}.{name}" if path else name)
    return path


# -- pydantic errors --------------------------------------------------------------------------------


def _problems(exc: ValidationError, tree: yaml.Node | None) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == "value_error" and not loc:
            problems.extend(_joined_problems(str(error["msg"]).removeprefix("Value error, "), tree))
            continue
        if error["type"].startswith("union_tag"):  # point at the `kind:` / `style:` line itself
            loc = (*loc, str((error.get("ctx") or {}).get("discriminator", "")).strip("'"))
        node, path = _locate(tree, loc, missing=error["type"] in ("missing", "union_tag_not_found"))
        message, expected = _explain(error, loc)
        problems.append(Problem(".".join(path), message, expected, *_position(node)))
    return problems


def _joined_problems(message: str, tree: yaml.Node | None) -> list[Problem]:
    """The spec's own cross-field checks report ``key.path: what`` joined by '; '."""
    problems = []
    for part in message.split("; "):
        match = _KEY_PATH.match(part)
        if match is None:
            problems.append(Problem("", part, None, *_position(tree)))
            continue
        loc = tuple(_loc_item(p) for p in match.group(1).split("."))
        node, path = _locate(tree, loc, missing=True)
        what, expected = _split_expected(match.group(2))
        problems.append(Problem(".".join(path), what, expected, *_position(node)))
    return problems


def _loc_item(part: str) -> str | int:
    return int(part) if part.isdigit() else part


def _split_expected(message: str) -> tuple[str, str | None]:
    for marker, prefix in (("' is not one of ", "one of "), (" where ", "")):
        if marker in message:
            head, tail = message.split(marker, 1)
            expected = prefix + tail.removesuffix(" expected")
            return head + ("'" if marker.startswith("'") else "") + " is not allowed", expected
    return message, None


def _mapping_problems(raw: dict[str, Any], tree: yaml.Node | None) -> list[Problem]:
    """Mapping checks of the operations that are valid on their own (the whole-spec check did not run)."""
    operations = raw.get("operations")
    if not isinstance(operations, dict):
        return []
    found: list[str] = []
    for capability, body in operations.items():
        if capability not in RECORDS:
            continue
        raw_mapping = _expand(body.get("mapping")) if isinstance(body, dict) else None
        if not isinstance(raw_mapping, dict):
            continue  # its own error is listed already
        where = f"operations.{capability}.mapping"
        valid = _valid_fields(raw_mapping)
        found.extend(
            problem
            for problem in mapping_problems(valid, RECORDS[capability], where)
            # a field left out here because it has problems of its own is not also "required"
            if not any(problem == f"{where}: '{name}' is required" for name in raw_mapping)
        )
    return _joined_problems("; ".join(found), tree) if found else []


def _valid_fields(raw_mapping: dict[str, Any]) -> dict[str, FieldMap]:
    """The field maps that are valid on their own (the others' errors are listed already)."""
    valid = {}
    for name, raw in raw_mapping.items():
        try:
            valid[str(name)] = _FIELD.validate_python(raw)
        except ValidationError:
            continue
    return valid


def _explain(error: Mapping[str, Any], loc: Sequence[str | int]) -> tuple[str, str | None]:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        elsewhere = _sections_with(key)
        if elsewhere:  # never "expected 'format'?" for 'format': say where it does belong
            return f"unknown key '{key}' here", f"'{key}' only in {', '.join(elsewhere)}"
        close = difflib.get_close_matches(key, _known_keys(), n=1)
        return f"unknown key '{key}'", f"'{close[0]}'?" if close else "a key this section defines"
    if kind == "missing":
        return "required key is missing", None
    discriminator = str(ctx.get("discriminator", "")).strip("'")
    if kind == "union_tag_invalid":
        return f"'{ctx.get('tag')}' is not a known {discriminator}", f"one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return (
            f"'{discriminator}' is missing: it says which kind of section this is",
            f"a {discriminator} key",
        )
    if kind == "literal_error":
        return f"{error['input']!r} is not allowed", str(ctx.get("expected"))
    if kind == "string_pattern_mismatch":
        return f"{error['input']!r} does not have the right form", f"text matching {ctx.get('pattern')}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if message.startswith("Input should be "):
        return f"{error.get('input')!r} is not valid", message.removeprefix("Input should be ")
    return message, None


_KNOWN: list[str] = []


def _spec_models() -> list[type[BaseModel]]:
    found = vars(spec_module).values()
    return [value for value in found if isinstance(value, type) and issubclass(value, BaseModel)]


def _sections_with(key: str) -> list[str]:
    """The sections (as the reference names them) that define ``key``."""
    return sorted(
        model.__name__
        for model in _spec_models()
        if key in model.model_fields or key in {f.alias for f in model.model_fields.values() if f.alias}
    )


def _known_keys() -> list[str]:
    """Every key any section of a spec defines (for 'did you mean')."""
    if not _KNOWN:
        models = _spec_models()
        _KNOWN.extend(sorted({name for model in models for name in model.model_fields}))
    return _KNOWN


# -- positions in the YAML ---------------------------------------------------------------------------


def _locate(
    tree: yaml.Node | None, loc: Sequence[str | int], missing: bool = False
) -> tuple[yaml.Node | None, list[str]]:
    """Where ``loc`` is in the file (the key's node, to point at its line) and the key path walked
    (discriminator tags left out)."""
    node, at, path = tree, tree, []
    for index, item in enumerate(loc):
        found = _child(node, item)
        if found is None:
            if missing and index == len(loc) - 1:
                path.append(str(item))  # a missing key: point at its parent, name the key
            elif isinstance(node, yaml.ScalarNode):
                path.append(str(item))  # shorthand `name: column` stands for {path: column}
            continue  # a union's tag (`api_key`, `page`) is in loc but not in the file
        at, node = found
        path.append(str(item))
    return at, path


def _child(node: yaml.Node | None, item: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(the key or element to point at, the value to descend into)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(item):
                return key, value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(item, int) and 0 <= item < len(node.value):
        element: yaml.Node = node.value[item]
        return element, element
    return None


def _position(node: yaml.Node | None) -> tuple[int | None, int | None]:
    if node is None:
        return None, None
    mark = node.start_mark
    return mark.line + 1, mark.column + 1
