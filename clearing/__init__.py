"""Clearing: the double-entry ledger in PostgreSQL, fees and statements, reconciled with the engine's balances.

Not built yet: this package holds no code so far (see docs/architecture.md).
"""
