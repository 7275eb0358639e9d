"""What Onestop is about, whatever a department's wire format or the GraphQL schema says.

The canonical records (``domain.records``) are plain frozen dataclasses that connectors produce, the
caches keep, resolvers compute with and the schema renders. Nothing here knows HTTP, SQL or GraphQL:
this package imports nothing of the project's own.
"""
