"""Paying bills: the ledger, the payment provider, its signed notifications and the reconciler.

``service.Payments`` is the one object the gateway builds (server.py) and resolvers reach through
``resolvers.payments.payments_of``; everything here is plain Python, testable without GraphQL.
"""
