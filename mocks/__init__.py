"""Mock Pudong government departments for Onestop's gateway to talk to.

Five legacy-style systems (JSON envelope, SOAP, GB18030 CSV behind OAuth2, HMAC-signed JSON, plain XML)
served over real HTTP from one port, with fault injection and request statistics under `/_admin`.
The wire contract is docs/mock-departments.md.  This package imports nothing from the gateway, and the
gateway nothing from it: they meet only over HTTP.
"""
