"""GraphiQL served by the gateway itself: the page on ``GET /graphql`` and its assets, no CDN.

Government intranets and kiosks reach no public CDN, so strawberry's page (React, GraphiQL and the
explorer from unpkg) stays at "Loading...". The bundle is built once by ``web/graphiql`` (``npm run
build``) into ``schema/static/graphiql/`` and committed. Assets are served under a version made of their
content hash (``/graphiql/<version>/graphiql.js``) so browsers may keep them for a year: a new build is
a new URL. They are read and gzipped once, at start.
"""

from __future__ import annotations

import gzip
import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

STATIC_DIR = Path(__file__).parent / "static" / "graphiql"
ROUTE = "/graphiql/{version}/{name}"
CACHE_FOREVER = "public, max-age=31536000, immutable"
# The page may load and connect to its own origin only (the browser enforces what the tests check);
# styles inline because React and CodeMirror set them; fonts and icons come as data: URLs in the CSS.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
MEDIA_TYPES = {
    "graphiql.js": "text/javascript; charset=utf-8",
    "graphiql.css": "text/css; charset=utf-8",
    "THIRD-PARTY-LICENSES.txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class GraphiQLAssets:
    """The built bundle, in memory, under the version its content hashes to."""

    version: str
    assets: dict[str, Asset]

    @classmethod
    def load(cls, directory: Path = STATIC_DIR) -> GraphiQLAssets:
        bodies = {name: (directory / name).read_bytes() for name in MEDIA_TYPES}
        digest = hashlib.sha256()
        for name in sorted(bodies):
            digest.update(name.encode() + b"\0" + bodies[name])
        assets = {
            name: Asset(body, gzip.compress(body, 9, mtime=0), MEDIA_TYPES[name])
            for name, body in bodies.items()
        }
        return cls(digest.hexdigest()[:16], assets)

    def url(self, name: str) -> str:
        return f"/graphiql/{self.version}/{name}"

    def page(self, endpoint: str = "/graphql") -> str:
        """The HTML page; no inline script (the bundle reads the endpoint from ``data-endpoint``)."""
        return PAGE.format(
            css=self.url("graphiql.css"),
            js=self.url("graphiql.js"),
            licenses=self.url("THIRD-PARTY-LICENSES.txt"),
            endpoint=html.escape(endpoint, quote=True),
        )

    async def endpoint(self, request: Request) -> Response:
        """``GET /graphiql/<version>/<name>``: 404 for another version, so a stale URL never gets
        today's bytes under a year-long cache header."""
        asset = self.assets.get(request.path_params["name"])
        if asset is None or request.path_params["version"] != self.version:
            return Response(b"not found", 404, media_type="text/plain")
        headers = {"Cache-Control": CACHE_FOREVER, "ETag": f'"{self.version}"', "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == headers["ETag"]:
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(asset.gzipped, headers=headers, media_type=asset.media_type)
        return Response(asset.body, headers=headers, media_type=asset.media_type)


PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Onestop GraphiQL</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{css}">
    <link rel="license" href="{licenses}">
    <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
  </head>
  <body>
    <div id="graphiql" data-endpoint="{endpoint}">Loading GraphiQL…</div>
    <script src="{js}" defer></script>
  </body>
</html>
"""
