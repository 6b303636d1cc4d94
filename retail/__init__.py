"""Retail: the REST/WebSocket bridge (sanic) for retail users and KYC, feeding the same command log.

Not built yet: this package holds no code so far (see docs/architecture.md).
"""
