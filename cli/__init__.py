"""The ``onestop`` command: operators' and department IT's tools (connectors, tokens)."""
