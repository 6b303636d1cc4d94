from __future__ import annotations

from argon2 import PasswordHasher

from fix_gateway.auth import Argon2Authenticator

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


async def test_argon2_authenticator() -> None:
    users = {"alice": FAST.hash("s3cret")}

    async def lookup(session_id: str, username: str) -> str | None:
        return users.get(username)

    auth = Argon2Authenticator(lookup, FAST)
    assert await auth("S", "alice", "s3cret")
    assert not await auth("S", "alice", "wrong")
    assert not await auth("S", "bob", "s3cret")
    assert not await auth("S", None, "s3cret")
    assert not await Argon2Authenticator(lambda s, u: "not-a-hash", FAST)("S", "alice", "x")
