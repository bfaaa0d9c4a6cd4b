"""/keys: admins manage their own tenant's keys; keys are shown once, stored hashed."""

from __future__ import annotations

from typing import Any

import pytest

from backend.api.auth import hash_key


def test_create_key_shown_once_and_works(client: Any, auth: Any, storage: Any) -> None:
    response = client.post("/keys", json={"role": "writer", "label": "ci"},
                           headers=auth("acme", "admin"))  # fmt: skip
    assert response.status_code == 201
    created = response.json()
    assert (created["tenant_id"], created["role"], created["label"]) == ("acme", "writer", "ci")
    assert storage.find_api_key(hash_key(created["key"])).key_id == created["key_id"]
    listed = client.get("/keys", headers=auth("acme", "admin")).json()["keys"]
    assert all("key" not in item and "key_hash" not in item for item in listed)
    new = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/health", headers=new).json()["tenant_id"] == "acme"


def test_list_keys_only_own_tenant(client: Any, auth: Any) -> None:
    listed = client.get("/keys", headers=auth("globex", "admin")).json()["keys"]
    assert {item["tenant_id"] for item in listed} == {"globex"}
    assert [item["role"] for item in listed] == ["viewer", "writer", "admin"]


def test_revoke_key_then_401(client: Any, auth: Any, keys: Any, storage: Any) -> None:
    victim = storage.list_api_keys("acme")[0]
    assert client.delete(f"/keys/{victim.key_id}", headers=auth("acme", "admin")).status_code == 204
    assert client.get("/health", headers=auth("acme", "viewer")).status_code == 401
    listed = client.get("/keys", headers=auth("acme", "admin")).json()["keys"]
    assert next(k for k in listed if k["key_id"] == victim.key_id)["active"] is False


def test_revoke_other_tenant_key_404(client: Any, auth: Any, storage: Any) -> None:
    victim = storage.list_api_keys("globex")[0]
    response = client.delete(f"/keys/{victim.key_id}", headers=auth("acme", "admin"))
    assert response.status_code == 404
    assert client.get("/health", headers=auth("globex", "viewer")).status_code == 200


@pytest.mark.parametrize("role", ["viewer", "writer"])
def test_keys_need_admin(client: Any, auth: Any, role: str) -> None:
    assert client.get("/keys", headers=auth("acme", role)).status_code == 403
    assert client.post("/keys", json={}, headers=auth("acme", role)).status_code == 403


def test_create_key_bad_role_422(client: Any, auth: Any) -> None:
    response = client.post("/keys", json={"role": "root"}, headers=auth("acme", "admin"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "role"
