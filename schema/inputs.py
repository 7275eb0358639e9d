"""Text inputs checked once, at the edge, for every string a client sends — before any resolver runs.

A NUL character reached PostgreSQL through nine fields as ``INTERNAL_SERVER_ERROR``
(``CharacterNotInRepertoireError``), and a refused admin read lost its audit row on the way (issue 14,
finding 2). Checking field by field would miss the tenth; this extension walks every string of the
operation instead: each string literal in an argument (inside input objects and lists too) and each
string in the variables, by the type the variable is declared with.

The rule, per string:

* no control characters: C0 (U+0000–U+001F), DEL, C1 (U+0080–U+009F), and no lone surrogates (which
  JSON can carry as ``\\ud800`` and no database can store);
* *free text* (``FREE_TEXT``: a connector spec, an application form's answer) may carry tab, line feed
  and carriage return, and is bounded by ``max_text_length``; everything else (ids, names, search
  terms, keys) by ``max_string_length``.

A refusal is ``BAD_USER_INPUT`` naming the argument (``department``, ``input.answers.value``, or a
variable: ``$spec``), with ``extensions.reason``; the operation does not run at all, so nothing is
half-written. The document's part of the check is cached per query text; variables are checked each
time (a few microseconds for a typical request).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    ObjectFieldNode,
    OperationDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    type_from_ast,
    visit,
)
from strawberry.extensions import SchemaExtension

# Arguments and input fields where a person writes prose or a file: tabs and line breaks allowed, and
# the longer bound. Named by schema coordinate; ``TextLimits.check_schema`` fails start-up if one is gone.
FREE_TEXT = frozenset(
    {
        "Mutation.validateConnector(spec:)",
        "Mutation.probeConnector(spec:)",
        "Mutation.registerConnector(spec:)",
        "ApplicationAnswerInput.value",
        "QuestionAnswerInput.text",  # a resident's words in a questionnaire (its own limit: 1,000)
    }
)

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
CACHE_SIZE = 1024
# lists and input objects inside each other; the schema's deepest input is 3 (input.answers[].value)
MAX_NESTING = 16


@dataclass(frozen=True, slots=True)
class TextLimits:
    """Bounds on one string argument (from ``Settings``; the defaults are the documented ones)."""

    max_string_length: int = 1000
    max_text_length: int = 65536

    @classmethod
    def from_settings(cls, settings: Any) -> TextLimits:
        return cls(settings.max_string_length, settings.max_text_length)

    def problem(self, value: str, free_text: bool) -> str | None:
        """Why ``value`` is refused, or None."""
        bound = self.max_text_length if free_text else self.max_string_length
        if len(value) > bound:
            return f"at most {bound} characters"
        found = (_CONTROL_BUT_LINES if free_text else _CONTROL).search(value)
        if found is not None:
            return f"control character U+{ord(found.group()):04X} not allowed"
        return None


def check_schema(schema: GraphQLSchema) -> None:
    """Every ``FREE_TEXT`` coordinate names a real argument or input field (a rename must not quietly
    make a field strict, or leave a stale entry behind)."""
    for coordinate in FREE_TEXT:
        type_name, _, rest = coordinate.partition(".")
        field_name, _, argument = rest.partition("(")
        named = schema.get_type(type_name)
        fields = getattr(named, "fields", {})
        if field_name not in fields or (argument and argument[:-2] not in fields[field_name].args):
            raise RuntimeError(f"schema/inputs.py FREE_TEXT names {coordinate}, which the schema lacks")


@dataclass(slots=True)
class DocumentText:
    """What the walk of one document found: the first bad literal, and where each variable is used."""

    refusal: GraphQLError | None = None
    # variable name -> True when every use is a free-text argument or field
    variables_free: dict[str, bool] = field(default_factory=dict)


class _Walk(Visitor):
    """Visits string literals and variables with the coordinate of the argument or field they fill."""

    def __init__(self, type_info: TypeInfo, limits: TextLimits, found: DocumentText) -> None:
        super().__init__()
        self.type_info = type_info
        self.limits = limits
        self.found = found
        self.where: list[tuple[str, str]] = []  # (name shown to the client, schema coordinate)
        self.fields: list[str] = []  # the fields being entered, innermost last

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.fields.append(node.name.value)

    def leave_field(self, *_: Any) -> None:
        self.fields.pop()

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        parent = self.type_info.get_parent_type()
        coordinate = ""
        if self.type_info.get_directive() is None and parent is not None and self.fields:
            coordinate = f"{parent.name}.{self.fields[-1]}({node.name.value}:)"
        self.where.append((node.name.value, coordinate))

    def leave_argument(self, *_: Any) -> None:
        self.where.pop()

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_input_type()
        shown = f"{self.where[-1][0]}.{node.name.value}" if self.where else node.name.value
        coordinate = f"{parent.name}.{node.name.value}" if isinstance(parent, GraphQLInputObjectType) else ""
        self.where.append((shown, coordinate))

    def leave_object_field(self, *_: Any) -> None:
        self.where.pop()

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if self.found.refusal is not None or not self.where:
            return
        shown, coordinate = self.where[-1]
        reason = self.limits.problem(node.value, coordinate in FREE_TEXT)
        if reason is not None:
            self.found.refusal = refusal(shown, reason)

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        if self.where:  # a use, not the definition
            name = node.name.value
            free = self.where[-1][1] in FREE_TEXT
            self.found.variables_free[name] = self.found.variables_free.get(name, True) and free


def refusal(argument: str, reason: str) -> GraphQLError:
    return GraphQLError(
        f"{argument}: {reason}",
        extensions={"code": "BAD_USER_INPUT", "argument": argument, "reason": reason},
    )


class InputChecker:
    """Checks operations' strings against ``TextLimits``; the document's walk is cached per query."""

    def __init__(self, limits: TextLimits, maxsize: int = CACHE_SIZE) -> None:
        self.limits = limits
        self._documents: OrderedDict[str, DocumentText] = OrderedDict()
        self._maxsize = maxsize

    def check(
        self,
        schema: GraphQLSchema,
        query: str,
        document: DocumentNode,
        variables: Mapping[str, Any] | None,
    ) -> None:
        """Raise the typed refusal of the first string that breaks the rule."""
        found = self._document(schema, query, document)
        if found.refusal is not None:
            raise found.refusal
        if variables:
            self._variables(schema, document, variables, found)

    def _document(self, schema: GraphQLSchema, query: str, document: DocumentNode) -> DocumentText:
        found = self._documents.get(query)
        if found is not None:
            self._documents.move_to_end(query)
            return found
        found = DocumentText()
        type_info = TypeInfo(schema)
        visit(document, TypeInfoVisitor(type_info, _Walk(type_info, self.limits, found)))
        self._documents[query] = found
        if len(self._documents) > self._maxsize:
            self._documents.popitem(last=False)
        return found

    def _variables(
        self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any], found: DocumentText
    ) -> None:
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            for declared in definition.variable_definitions or ():
                name = declared.variable.name.value
                if name in variables:
                    kind = type_from_ast(schema, declared.type)
                    free = found.variables_free.get(name, False)
                    self._value(variables[name], kind, f"${name}", "", free)

    def _value(self, value: Any, kind: Any, shown: str, coordinate: str, free: bool) -> None:
        """Walk one variable's value (a loop, not recursion: JSON may nest a thousand levels deep)."""
        stack: list[tuple[Any, Any, str, str, bool, int]] = [(value, kind, shown, coordinate, free, 0)]
        while stack:
            value, kind, shown, coordinate, free, depth = stack.pop()
            if depth > MAX_NESTING:
                raise refusal(shown, f"nested deeper than {MAX_NESTING} levels")
            if isinstance(kind, GraphQLNonNull):
                kind = kind.of_type
            if isinstance(value, str):
                reason = self.limits.problem(value, free or coordinate in FREE_TEXT)
                if reason is not None:
                    raise refusal(shown, reason)
            elif isinstance(value, list):
                item_kind = kind.of_type if isinstance(kind, GraphQLList) else kind
                stack.extend((item, item_kind, shown, coordinate, free, depth + 1) for item in value)
            elif isinstance(value, dict):
                fields = kind.fields if isinstance(kind, GraphQLInputObjectType) else {}
                for key, item in value.items():
                    if (reason := self.limits.problem(str(key), False)) is not None:
                        raise refusal(shown, reason)
                    inner: GraphQLInputType | None = fields[key].type if key in fields else None
                    where = f"{kind.name}.{key}" if key in fields else ""
                    stack.append((item, inner, f"{shown}.{key}", where, free and not where, depth + 1))


class InputText(SchemaExtension):
    """Refuses an operation with a bad string before it executes (after validation: the document is
    known to fit the schema, so each string's argument is known)."""

    def __init__(self, checker: InputChecker) -> None:
        super().__init__()
        self.checker = checker

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.query:
            self.checker.check(
                context.schema._schema, context.query, context.graphql_document, context.variables
            )
        yield


def input_text(limits: TextLimits) -> Callable[[], InputText]:
    """A factory for the schema's extensions list (strawberry wants classes or factories)."""
    checker = InputChecker(limits)
    return lambda: InputText(checker)
