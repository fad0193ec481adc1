"""Accounts and bearer tokens.

Passwords are kept only as a salted scrypt hash (slow on purpose; computed off
the event loop), tokens only as their sha256.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets

from aiohttp import web

from ..common.http import ApiError
from ..contract import MAX_PASSWORD, MIN_PASSWORD, USERNAME_PATTERN

USERNAME = re.compile(USERNAME_PATTERN)
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, maxmem=64 * 1024 * 1024, **_SCRYPT)


async def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = await asyncio.to_thread(_scrypt, password, salt)
    return f"scrypt${salt.hex()}${digest.hex()}"


async def check_password(password: str, stored: str) -> bool:
    try:
        _, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    digest = await asyncio.to_thread(_scrypt, password, bytes.fromhex(salt_hex))
    return hmac.compare_digest(digest, bytes.fromhex(digest_hex))


# A hash no password matches (its digest is random), checked when the account does not exist, so a wrong
# password costs the same scrypt time whether the username is taken or not.
UNUSABLE_HASH = f"scrypt${secrets.token_bytes(16).hex()}${secrets.token_bytes(32).hex()}"


def new_token() -> tuple[str, bytes]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def validate_credentials(body: dict) -> tuple[str, str]:
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        raise ApiError(400, "invalid_request", "username must be 3-64 characters of letters, digits, '_', '.' or '-'")
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ApiError(400, "invalid_request", f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    return username, password


def login_credentials(body: dict) -> tuple[str, str]:
    """The username and password of a login; anything else is just wrong credentials (401)."""
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not USERNAME.fullmatch(username):
        raise ApiError(401, "invalid_credentials", "wrong username or password")  # no account can have such a name
    return username, password


# The one route a browser cannot send a header to: its WebSocket.  Everywhere else ``?token=`` is refused,
# so a token is not copied into URLs (history, proxies, logs) where a header would do.
QUERY_TOKEN_ROUTES = ("/api/events",)


def bearer(request: web.Request) -> str | None:
    """The token from ``Authorization: Bearer``, or from ``?token=`` on the WebSocket route only."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return (request.query.get("token") or None) if request.path in QUERY_TOKEN_ROUTES else None
