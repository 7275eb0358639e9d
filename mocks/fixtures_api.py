"""`GET /_admin/fixtures`: the hand-specified residents and a few stations, for development tools.

`onestop token demo` reads it over HTTP to mint tokens for residents who exist in the world (the
gateway never imports the mocks); `bench.home` asks for a sample of ordinary residents too. Test data
only: these are made-up people of a generated world.
"""

from __future__ import annotations

import json

from aiohttp import web

from mocks.people import FIXTURE_RESIDENTS
from mocks.world import World

ADMIN_PREFIX = "/_admin"
STATION_SAMPLE = 5


class FixturesApi:
    def __init__(self, world: World) -> None:
        self._world = world

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"{ADMIN_PREFIX}/fixtures", self.fixtures)]

    async def fixtures(self, request: web.Request) -> web.StreamResponse:
        """``?sample=N`` adds N ordinary residents (after the fixtures, in world order), for load tests
        that need residents the gateway has not seen yet."""
        try:
            sample = min(max(int(request.query.get("sample", "0")), 0), len(self._world.residents))
        except ValueError:
            return web.Response(
                status=400, text='{"error": "sample: a number"}', content_type="application/json"
            )
        residents = [
            {
                "key": key,
                "id_number": self._world.residents[index].id_number,
                "name": self._world.residents[index].name,
            }
            for key, index in FIXTURE_RESIDENTS.items()
        ]
        first = len(FIXTURE_RESIDENTS)
        residents += [
            {"key": f"resident_{i}", "id_number": r.id_number, "name": r.name}
            for i, r in enumerate(self._world.residents[first : first + sample], start=first)
        ]
        stations = [
            {"id": s.code, "name": s.name, "town": s.town} for s in self._world.stations[:STATION_SAMPLE]
        ]
        body = json.dumps({"residents": residents, "stations": stations}, ensure_ascii=False)
        return web.Response(text=body, content_type="application/json")
