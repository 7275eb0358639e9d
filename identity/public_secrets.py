"""Secrets everyone has: the values written in this repository, which production must never use.

The bundled specs default each credential to the mock departments' development value, the README and
docs print the development webhook secrets, tests carry their own keys, the digest module has a public
development key. All of them are published with the code. ``repository_secrets`` collects them
mechanically from the repository's files — so a new spec default, mock credential or test key is known
the day it is committed, with no list to keep — and ``public`` says which configured secrets are among
them. What is collected (values of at least ``MIN_CHARS`` characters):

* every ``${NAME:-default}`` default, in any text file (specs, docs, README, examples);
* in Python files, every string constant assigned to, passed as, or keyed by a name that says secret,
  password, token or key (``DEVELOPMENT_SECRET = ...``, ``digest_key="..."``, ``{"client_secret": ...}``,
  ``WEBHOOK_SECRETS = {...}``) — parsed with ``ast``, never imported;
* in YAML, Markdown, shell and Makefiles, ``NAME=value`` / ``name: value`` where the name says so.

Standard library and pydantic only; the caller (``server.production_refusals``) decides what to check.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, SecretStr

MIN_CHARS = 6  # shorter strings are not worth calling secrets (and would match noise)
SECRET_NAME = re.compile(r"secret|passw|token|key", re.IGNORECASE)
SKIPPED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "var", "__pycache__", "build", "dist"})
TEXT_SUFFIXES = frozenset({".yaml", ".yml", ".md", ".sh", ".toml", ".cfg", ".ini", ".env", ".txt", ".mako"})
_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}\s]+)\}")
_ASSIGNED = re.compile(
    r"""(?P<name>[A-Za-z_][\w.-]*)["']?\s*[:=]\s*["']?(?P<value>[^\s"'`,;)}{]+)""", re.MULTILINE
)


@functools.cache
def repository_secrets(root: Path) -> Mapping[str, str]:
    """Every secret-looking value written in the files under ``root``: value -> the first file (relative).
    Read once per process (about a second: the files are parsed)."""
    found: dict[str, str] = {}
    for path in _files(root):
        where = str(path.relative_to(root))
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        values = list(_defaults(text))
        values += _python_values(text) if path.suffix == ".py" else _assigned_values(text)
        for value in values:
            if len(value) >= MIN_CHARS and not value.startswith("$"):
                found.setdefault(value, where)
    return MappingProxyType(found)


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.iterdir()):
        if path.is_dir():
            if path.name not in SKIPPED_DIRS and not path.name.startswith("."):
                yield from _files(path)
        elif path.suffix in TEXT_SUFFIXES or path.suffix == ".py" or path.name == "Makefile":
            yield path


def _defaults(text: str) -> Iterator[str]:
    return (m.group(1) for m in _DEFAULT.finditer(text))


def _assigned_values(text: str) -> Iterator[str]:
    for match in _ASSIGNED.finditer(text):
        if SECRET_NAME.search(match.group("name")):
            yield match.group("value")


def _python_values(text: str) -> list[str]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    values: list[str] = []
    for node in ast.walk(tree):
        for name, value in _named_values(node):
            if name and SECRET_NAME.search(name):
                values += _strings(value)
    return values


def _named_values(node: ast.AST) -> Iterator[tuple[str | None, ast.AST | None]]:
    """(name, value) pairs a node binds: assignments, keyword arguments, dict entries, defaults."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield _name(target), node.value
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        yield _name(node.target), node.value
    elif isinstance(node, ast.keyword):
        yield node.arg, node.value
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield key.value, value
    elif isinstance(node, ast.arguments):
        positional = [*node.posonlyargs, *node.args]
        for arg, default in zip(
            positional[len(positional) - len(node.defaults) :], node.defaults, strict=True
        ):
            yield arg.arg, default
        for arg, kw_default in zip(node.kwonlyargs, node.kw_defaults, strict=True):
            yield arg.arg, kw_default


def _name(target: ast.AST) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return None


def _strings(node: ast.AST | None) -> list[str]:
    if node is None:
        return []
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def secret_fields(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted field name, value) of every ``SecretStr`` set in ``model``, nested models included."""
    for name in type(model).model_fields:
        yield from _secret_values(getattr(model, name), f"{prefix}{name}")


def _secret_values(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, SecretStr):
        yield where, value.get_secret_value()
    elif isinstance(value, BaseModel):
        yield from secret_fields(value, where + ".")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _secret_values(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _secret_values(item, f"{where}[{index}]")


def public(configured: Iterable[tuple[str, str]], known: Mapping[str, str]) -> list[str]:
    """The names of configured secrets whose value is known, each with where it is written (never the
    value itself): ``"ONESTOP_DIGEST_KEY (written in tests/conftest.py)"``."""
    return [f"{name} (written in {known[value]})" for name, value in configured if value in known]
