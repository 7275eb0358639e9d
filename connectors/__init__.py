"""Department connectors: specs, adapters, the resilience layer and the registry.

Knows nothing of GraphQL: everything here returns canonical records or raises ``UpstreamError``.
"""
