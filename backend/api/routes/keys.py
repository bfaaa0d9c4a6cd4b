"""``/keys``: API keys of the caller's tenant (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from starlette.responses import Response

from backend.api.deps import AdminPrincipal, Context
from backend.api.encoding import key_created_out, key_out
from backend.api.schemas import KeyCreatedOut, KeyCreateRequest, KeyListResponse

router = APIRouter(tags=["keys"])


@router.post(
    "/keys",
    response_model=KeyCreatedOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key",
)
def create_key(
    principal: AdminPrincipal, context: Context, request: KeyCreateRequest
) -> KeyCreatedOut:
    """A new key for the caller's tenant; the plain key is in this answer only."""
    created = context.keys.create(principal.tenant_id, request.role, request.label)
    return key_created_out(created.record, created.key)


@router.get("/keys", response_model=KeyListResponse, summary="List API keys")
def list_keys(principal: AdminPrincipal, context: Context) -> KeyListResponse:
    """The tenant's keys, oldest first, revoked ones included (never secrets or hashes)."""
    return KeyListResponse(keys=[key_out(r) for r in context.keys.list(principal.tenant_id)])


@router.delete(
    "/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke an API key",
)
def revoke_key(
    principal: AdminPrincipal,
    context: Context,
    key_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> Response:
    """Revoke one of the tenant's keys; another tenant's key id is 404."""
    context.keys.revoke(principal.tenant_id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
