"""Custody: deposits seen on an Ethereum chain and withdrawals signed through a PKCS#11 HSM, as engine commands.

Not built yet: this package holds no code so far (see docs/architecture.md).
"""
