"""API keys (hashed, revocable), JWTs (HS256, RS256) and the role hierarchy."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.api import ApiKeyService, ApiSettings, Authenticator, Principal, Role
from backend.api.auth import generate_key, hash_key, parse_key_id
from backend.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

SECRET = "test-secret-with-enough-length-for-hs256"


def _token(claims: dict[str, Any], key: Any = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode({"exp": int(time.time()) + 60, **claims}, key, algorithm=algorithm)


def test_generate_key_unique_and_parseable() -> None:
    pairs = [generate_key() for _ in range(50)]
    assert len({key for _, key in pairs}) == 50
    assert all(parse_key_id(key) == key_id for key_id, key in pairs)


def test_hash_key_is_sha256_hex() -> None:
    digest = hash_key("ack_0123456789ab_secret")
    assert len(digest) == 64
    assert digest != hash_key("ack_0123456789ab_secreT")


@pytest.mark.parametrize("bad", ["", "ack", "ack_", "ack_short_x", "xyz_0123456789ab_s"])
def test_parse_key_id_rejects_malformed(bad: str) -> None:
    assert parse_key_id(bad) is None


def test_role_hierarchy_admin_includes_writer_includes_viewer() -> None:
    assert Role.ADMIN.allows(Role.WRITER) and Role.WRITER.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.WRITER) and not Role.WRITER.allows(Role.ADMIN)


def test_role_parse_unknown_names_field() -> None:
    with pytest.raises(ValidationError, match="role"):
        Role.parse("root")


def test_principal_require_insufficient_role_denied() -> None:
    with pytest.raises(PermissionDeniedError):
        Principal("t", Role.VIEWER, "k").require(Role.WRITER)


def test_key_service_stores_only_the_hash(storage: Any) -> None:
    created = ApiKeyService(storage).create("acme", "writer", "ci")
    (record,) = storage.list_api_keys("acme")
    assert record.key_hash == hash_key(created.key)
    assert created.key not in repr(record)
    assert ApiKeyService(storage).authenticate(created.key) == Principal(
        "acme", Role.WRITER, created.record.key_id
    )


def test_key_service_revoked_key_rejected(storage: Any) -> None:
    service = ApiKeyService(storage)
    created = service.create("acme", "viewer")
    service.revoke("acme", created.record.key_id)
    with pytest.raises(AuthenticationError):
        service.authenticate(created.key)


def test_key_service_revoke_other_tenant_not_found(storage: Any) -> None:
    service = ApiKeyService(storage)
    created = service.create("acme", "viewer")
    with pytest.raises(NotFoundError):
        service.revoke("globex", created.record.key_id)
    assert service.authenticate(created.key).tenant_id == "acme"


@pytest.mark.parametrize("mutate", [lambda k: k + "x", lambda k: k[:-1], lambda k: "ack_" + k])
def test_key_service_tampered_key_rejected(storage: Any, mutate: Any) -> None:
    created = ApiKeyService(storage).create("acme", "viewer")
    with pytest.raises(AuthenticationError):
        ApiKeyService(storage).authenticate(mutate(created.key))


def _jwt_authenticator(storage: Any, **settings: Any) -> Authenticator:
    base = {"jwt_enabled": True, "jwt_secret": SECRET}
    return Authenticator(ApiKeyService(storage), ApiSettings(**{**base, **settings}))


def test_jwt_hs256_claims_become_principal(storage: Any) -> None:
    token = _token({"tenant": "acme", "role": "writer", "sub": "ci-bot"})
    principal = _jwt_authenticator(storage).authenticate(token)
    assert principal == Principal("acme", Role.WRITER, "jwt:ci-bot")


@pytest.mark.parametrize(
    "claims",
    [
        {"tenant": "acme", "role": "viewer", "exp": 1},
        {"role": "viewer"},
        {"tenant": "acme"},
        {"tenant": "acme", "role": "superuser"},
        {"tenant": "", "role": "viewer"},
    ],
    ids=["expired", "no-tenant", "no-role", "bad-role", "empty-tenant"],
)
def test_jwt_invalid_claims_rejected(storage: Any, claims: dict[str, Any]) -> None:
    with pytest.raises(AuthenticationError):
        _jwt_authenticator(storage).authenticate(_token(claims))


def test_jwt_wrong_secret_rejected(storage: Any) -> None:
    token = _token({"tenant": "acme", "role": "admin"}, key="another-secret-of-enough-length!!")
    with pytest.raises(AuthenticationError):
        _jwt_authenticator(storage).authenticate(token)


def test_jwt_disabled_token_rejected(storage: Any) -> None:
    authenticator = Authenticator(ApiKeyService(storage), ApiSettings())
    with pytest.raises(AuthenticationError):
        authenticator.authenticate(_token({"tenant": "acme", "role": "admin"}))


def test_jwt_rs256_with_public_key(storage: Any) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    authenticator = _jwt_authenticator(
        storage, jwt_algorithm="RS256", jwt_secret=None, jwt_public_key=public_pem
    )
    token = _token({"tenant": "globex", "role": "viewer"}, key=private, algorithm="RS256")
    assert authenticator.authenticate(token).tenant_id == "globex"
    forged = _token({"tenant": "globex", "role": "admin"})  # HS256 with a guessed secret
    with pytest.raises(AuthenticationError):
        authenticator.authenticate(forged)


def test_settings_jwt_enabled_without_key_refused() -> None:
    with pytest.raises(ValueError, match="jwt_secret"):
        ApiSettings(jwt_enabled=True)


def test_jwt_through_http_scopes_to_claimed_tenant(make_client: Any, world: Any) -> None:
    client = make_client(jwt_enabled=True, jwt_secret=SECRET)
    token = _token({"tenant": "globex", "role": "viewer"})
    response = client.get("/health", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["tenant_id"] == "globex"
    assert {c["cluster_id"] for c in response.json()["clusters"]} == {"gx-1"}
