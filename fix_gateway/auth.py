"""Logon authentication against argon2 password hashes (argon2-cffi).

``Argon2Authenticator(lookup)`` is an ``application.Authenticator``: ``lookup(session_id,
username)`` returns the stored argon2 hash (or None: unknown user), sync or async — the
integrator backs it with the users table. Verification runs in a worker thread (argon2 is
deliberately slow) so other sessions keep flowing. Any failure is a plain ``False``: the
counterparty learns nothing about which part was wrong.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError

HashLookup = Callable[[str, str], "str | Awaitable[str | None] | None"]


class Argon2Authenticator:
    def __init__(self, lookup: HashLookup, hasher: PasswordHasher | None = None) -> None:
        self._lookup = lookup
        self._hasher = hasher or PasswordHasher()

    async def __call__(self, session_id: str, username: str | None, password: str | None) -> bool:
        if not username or password is None:
            return False
        found = self._lookup(session_id, username)
        stored = await found if inspect.isawaitable(found) else found
        if not stored:
            return False
        return await asyncio.to_thread(self._verify, stored, password)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(stored, password))
        except (Argon2Error, InvalidHashError):
            return False


__all__ = ["Argon2Authenticator"]
