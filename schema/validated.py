"""Validation remembered per parsed document, found by the document's identity.

strawberry's ``ValidationCache`` keys its ``lru_cache`` by the document itself, and a graphql-core
document is a frozen dataclass whose hash walks the whole tree, every node and location, again on every
request: profiled on the warm catalogue that hash was a tenth of the request's CPU. ``ParserCache``
already hands every request with the same text the same document object, so its identity is the key
here (the entry keeps the document, so its id cannot be reused while the entry lives), with the schema
and the validation rules in force, exactly what the validation depends on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from schema.limits import LRU


class DocumentValidation(SchemaExtension):
    def __init__(self, cache: LRU) -> None:
        super().__init__()
        self.cache = cache

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        schema = context.schema._schema
        key = (id(document), id(schema), context.validation_rules)
        kept = self.cache.get(key)
        if kept is None or kept[0] is not document or kept[1] is not schema:
            errors = validate_document(schema, document, context.validation_rules)  # type: ignore[arg-type]
            kept = self.cache.remember(key, (document, schema, errors))
        else:
            self.cache.move_to_end(key)
        context.pre_execution_errors = list(kept[2])  # a list of its own: ErrorShaping rewrites it
        yield


def document_validation(maxsize: int = 512) -> Callable[[], DocumentValidation]:
    """A factory for the schema's extensions list: one cache for every request of this schema."""
    cache = LRU(maxsize)
    return lambda: DocumentValidation(cache)
