"""Run the real gateway (``server.create_app`` under uvicorn) in a subprocess on a port of its own.

``python -m tests.gateway_on_free_port`` binds port 0 itself (no window in which another process could
take the port), prints the port on its first line, then serves; settings come from ``ONESTOP_*``
variables like any gateway process. The reload tests start two over one database.
"""

from __future__ import annotations

import logging
import socket

import uvicorn

from config import Settings
from server import create_app


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(Settings()), log_level="warning"))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
