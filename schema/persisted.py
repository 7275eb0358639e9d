"""Trusted documents: the operations each front-end ships, by SHA-256, and channels locked to them.

A manifest per channel, ``<persisted_dir>/<channel>.json``, loaded at start: either a plain object
``{"<sha256 hex>": "<query>"}`` or Apollo's persisted-query manifest
``{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body", ...}]}``. Every hash is
checked against its text on load; a manifest that lies stops the gateway from starting.

A request names a document by ``extensions.persistedQuery.sha256Hash`` (Apollo's APQ wire format) or
``documentId`` (``"sha256:<hex>"`` or bare hex; the GraphQL-over-HTTP proposal). A channel locked to its
manifest (``ONESTOP_TRUSTED_DOCUMENTS_APP`` …) runs only documents in it: a raw query is
``PERSISTED_QUERY_REQUIRED``, an unknown hash ``PERSISTED_QUERY_NOT_FOUND``. On an unlocked channel a
known hash runs its document, a hash registered at run time (``schema/apq.py``) its text, an unknown one
is ``PERSISTED_QUERY_NOT_FOUND`` with the message Apollo clients look for (``PersistedQueryNotFound``):
the client then sends the text with the hash, which runs and registers it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from identity.principal import ClientChannel

log = logging.getLogger("onestop.persisted")

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class PersistedQueryError(Exception):
    """A request the manifests refuse; ``code`` is the client's ``extensions.code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sha256_hex(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def read_manifest(path: Path) -> dict[str, str]:
    """One manifest file as ``{hash: query}``; ``ValueError`` when it is malformed or a hash is wrong."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(raw, dict) and raw.get("format") == "apollo-persisted-query-manifest":
        pairs = [(str(op["id"]), str(op["body"])) for op in raw.get("operations", [])]
    elif isinstance(raw, dict):
        pairs = [(str(k), v) for k, v in raw.items()]
    else:
        raise ValueError(f"{path.name}: a manifest is a JSON object")
    documents: dict[str, str] = {}
    for digest, query in pairs:
        if not isinstance(query, str) or sha256_hex(query) != digest.lower():
            raise ValueError(f"{path.name}: the document under {digest[:16]}… does not hash to its key")
        documents[digest.lower()] = query
    return documents


@dataclass(frozen=True, slots=True)
class Manifests:
    documents: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # channel -> hash -> query
    locked: frozenset[str] = frozenset()

    @classmethod
    def load(cls, directory: Path, locked: Iterable[str] = ()) -> Manifests:
        channels = {c.value for c in ClientChannel}
        documents = {}
        if directory.is_dir():
            for path in sorted(directory.glob("*.json")):
                if path.stem in channels:
                    documents[path.stem] = read_manifest(path)
                else:
                    log.warning("persisted queries: %s names no channel; ignored", path.name)
        locked_set = frozenset(locked)
        for channel in sorted(locked_set - documents.keys()):
            log.warning("channel %s is locked to trusted documents but has no manifest: all refused", channel)
        return cls(documents, locked_set)

    def resolve(
        self,
        channel: str,
        query: str | None,
        extensions: Any,
        document_id: Any,
        registered: str | None = None,
    ) -> str | None:
        """The query to run for this request, or ``PersistedQueryError``. ``registered``: the text an
        APQ client registered under the requested hash, if any (used on unlocked channels only)."""
        digest = requested_hash(extensions, document_id)
        if digest is None:
            if channel in self.locked:
                raise PersistedQueryError(
                    "PERSISTED_QUERY_REQUIRED", f"the {channel} channel may only run its trusted documents"
                )
            return query
        known = self.documents.get(channel, {}).get(digest)
        if query is not None and sha256_hex(query) != digest:
            raise PersistedQueryError(
                "PERSISTED_QUERY_HASH_MISMATCH", "the query does not hash to the sha256 sent"
            )
        if known is not None:
            return known
        if channel not in self.locked:
            if query is not None:
                return query
            if registered is not None and sha256_hex(registered) == digest:
                return registered
            raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", NOT_FOUND_MESSAGE)
        raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "no trusted document has this hash")

    def knows(self, channel: str, digest: str) -> bool:
        return digest in self.documents.get(channel, {})


# Apollo Client's persisted-query link retries with the full text on this message or on the code
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"


def requested_hash(extensions: Any, document_id: Any) -> str | None:
    """The hash a request names, normalised to lower-case hex; None when it names none."""
    named: Any = None
    if isinstance(extensions, dict):
        persisted = extensions.get("persistedQuery")
        if isinstance(persisted, dict):
            named = persisted.get("sha256Hash")
    if named is None and document_id is not None:
        named = document_id.removeprefix("sha256:") if isinstance(document_id, str) else document_id
    if named is None:
        return None
    text = str(named).lower()
    # not a SHA-256: no document can have it; refused as unknown, never looked up by the raw text
    return text if SHA256_HEX.fullmatch(text) else ""
