"""Credentials: API keys (stored hashed) and optional JWTs, resolved to a :class:`Principal`.

An API key looks like ``ack_<key_id>_<secret>``: ``key_id`` (12 hex digits) names the key in
lists and revocations, ``secret`` carries 256 bits from :mod:`secrets`. Only the SHA-256 of the
whole key is stored, so a leaked database does not leak usable keys; because the key is
high-entropy a plain fast hash is enough (no password-stretching needed). Lookup is by hash,
and the stored hash is compared again in constant time.

Roles are hierarchical: ``admin`` ⊇ ``writer`` ⊇ ``viewer``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import jwt

from backend.analytics.types import check_id
from backend.api.settings import ApiSettings
from backend.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from backend.storage.interface import ApiKeyRecord, StorageBackend

__all__ = [
    "KEY_PREFIX",
    "ApiKeyService",
    "Authenticator",
    "CreatedKey",
    "Principal",
    "Role",
    "generate_key",
    "hash_key",
    "parse_key_id",
]

KEY_PREFIX = "ack"
_KEY_ID_BYTES = 6
_SECRET_BYTES = 32


class Role(StrEnum):
    """What a credential may do; each role includes the ones below it."""

    VIEWER = "viewer"
    WRITER = "writer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in the hierarchy (viewer 0, writer 1, admin 2)."""
        return _RANKS[self]

    def allows(self, required: Role) -> bool:
        """True when this role includes ``required``.

        >>> Role.ADMIN.allows(Role.VIEWER), Role.VIEWER.allows(Role.WRITER)
        (True, False)
        """
        return self.rank >= required.rank

    @classmethod
    def parse(cls, value: Any) -> Role:
        """The role named ``value`` or a :class:`~backend.errors.ValidationError`."""
        from backend.errors import ValidationError

        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(role.value for role in cls)
            raise ValidationError("role", value, f"must be one of {allowed}") from None


_RANKS = {Role.VIEWER: 0, Role.WRITER: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant every query is scoped to, the role and the credential id."""

    tenant_id: str
    role: Role
    key_id: str

    def require(self, role: Role) -> Principal:
        """Self when the role suffices, else :class:`PermissionDeniedError`."""
        if not self.role.allows(role):
            raise PermissionDeniedError(f"this action needs the {role.value} role")
        return self


@dataclass(frozen=True)
class CreatedKey:
    """A new key: the stored record plus the plain key, which is shown exactly once."""

    record: ApiKeyRecord
    key: str


def generate_key() -> tuple[str, str]:
    """A fresh ``(key_id, key)`` pair.

    >>> key_id, key = generate_key()
    >>> key.startswith(f"ack_{key_id}_") and len(key_id) == 12
    True
    """
    key_id = secrets.token_hex(_KEY_ID_BYTES)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"


def hash_key(key: str) -> str:
    """SHA-256 hex digest of the whole key (what storage keeps)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def parse_key_id(key: str) -> str | None:
    """The key id inside a well-formed key, else None.

    >>> parse_key_id("ack_0123456789ab_secret"), parse_key_id("nonsense")
    ('0123456789ab', None)
    """
    prefix, _, rest = key.partition("_")
    key_id, sep, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not sep or not secret or len(key_id) != 2 * _KEY_ID_BYTES:
        return None
    return key_id


class ApiKeyService:
    """Create, list, revoke and check API keys against a storage backend."""

    def __init__(self, storage: StorageBackend) -> None:
        self.storage = storage

    def create(self, tenant_id: str, role: Role | str, label: str = "") -> CreatedKey:
        """Store a new key for ``tenant_id`` and return it with its plain text."""
        check_id("tenant_id", tenant_id)
        key_id, key = generate_key()
        record = ApiKeyRecord(
            key_id=key_id,
            tenant_id=tenant_id,
            role=Role.parse(role).value,
            key_hash=hash_key(key),
            created_at=datetime.now(UTC),
            label=label,
        )
        self.storage.save_api_key(record)
        return CreatedKey(record, key)

    def list(self, tenant_id: str) -> list[ApiKeyRecord]:
        """The tenant's keys, oldest first (revoked ones included)."""
        return self.storage.list_api_keys(tenant_id)

    def revoke(self, tenant_id: str, key_id: str) -> None:
        """Revoke one of the tenant's keys; another tenant's key id looks unknown."""
        if not self.storage.revoke_api_key(tenant_id, key_id):
            raise NotFoundError(f"no API key {key_id!r}")

    def authenticate(self, key: str) -> Principal:
        """The principal of an active key, or :class:`AuthenticationError`."""
        key_id = parse_key_id(key)
        digest = hash_key(key)
        record = self.storage.find_api_key(digest) if key_id else None
        if (
            record is None
            or not hmac.compare_digest(record.key_hash, digest)
            or record.key_id != key_id
            or not record.is_active
        ):
            raise AuthenticationError("unknown or revoked API key")
        return Principal(record.tenant_id, Role.parse(record.role), record.key_id)


class Authenticator:
    """Turns a bearer token into a :class:`Principal`: API keys always, JWTs when enabled."""

    def __init__(self, keys: ApiKeyService, settings: ApiSettings) -> None:
        self.keys = keys
        self.settings = settings

    def authenticate(self, token: str | None) -> Principal:
        """The caller behind ``token``; :class:`AuthenticationError` when absent or invalid."""
        if not token:
            raise AuthenticationError("missing bearer credential")
        if token.startswith(KEY_PREFIX + "_") or not self.settings.jwt_enabled:
            return self.keys.authenticate(token)
        return self._authenticate_jwt(token)

    def _authenticate_jwt(self, token: str) -> Principal:
        settings = self.settings
        if settings.jwt_algorithm == "HS256":
            secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
            verify_key: Any = secret
        else:
            verify_key = settings.jwt_public_key or ""
        try:
            claims = jwt.decode(
                token,
                verify_key,
                algorithms=[settings.jwt_algorithm],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                leeway=settings.jwt_leeway_seconds,
                options={"require": ["exp", "tenant", "role"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"invalid token: {exc}") from None
        return _principal_from_claims(claims)


def _principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        tenant = check_id("tenant", claims.get("tenant"))
        role = Role.parse(claims.get("role"))
    except ValueError as exc:
        raise AuthenticationError(f"invalid token claims: {exc}") from None
    subject = claims.get("sub")
    return Principal(tenant, role, f"jwt:{subject}" if isinstance(subject, str) else "jwt")
