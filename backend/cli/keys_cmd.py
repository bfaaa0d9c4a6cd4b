"""``aboutcloud keys create|list|revoke``: manage API keys in the configured storage.

A key is printed once, at creation; storage keeps only its SHA-256. Keys belong to one tenant
and one role (admin ⊇ writer ⊇ viewer).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from backend.api.auth import ApiKeyService, Role
from backend.errors import NotFoundError
from backend.storage.factory import open_storage

__all__ = ["create", "list_keys", "register", "revoke"]

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant the key belongs to.")]
OptionalTenantOpt = Annotated[
    str | None, typer.Option("--tenant", "-t", help="Only this tenant (default: all).")
]
RoleOpt = Annotated[
    Role, typer.Option("--role", "-r", help="admin (keys, config) ⊇ writer (ingest) ⊇ viewer.")
]
LabelOpt = Annotated[str, typer.Option("--label", help="A note to recognise the key by.")]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url", envvar="ABOUTCLOUD_DATABASE_URL",
        help="Storage URL (default: aboutcloud.db in the current directory).",
    ),
]  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the ``keys`` command group to ``app``."""
    group = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
    group.command("create")(create)
    group.command("list")(list_keys)
    group.command("revoke")(revoke)
    app.add_typer(group, name="keys")


def create(
    tenant: TenantOpt,
    role: RoleOpt = Role.VIEWER,
    label: LabelOpt = "",
    database_url: DatabaseOpt = None,
) -> None:
    """Create a key and print it (this is the only time it is shown)."""
    with open_storage(database_url) as storage:
        created = ApiKeyService(storage).create(tenant, role, label)
    console = Console()
    console.print(created.key, highlight=False, soft_wrap=True)
    Console(stderr=True).print(
        f"key id {created.record.key_id}, tenant {tenant!r}, role {created.record.role}. "
        "Store the key now: it cannot be shown again.",
        highlight=False,
    )


def list_keys(tenant: OptionalTenantOpt = None, database_url: DatabaseOpt = None) -> None:
    """List keys of one tenant or all (ids, roles, status; never the keys themselves)."""
    with open_storage(database_url) as storage:
        records = storage.list_api_keys(tenant)
    table = Table("key id", "tenant", "role", "label", "created", "status")
    for record in records:
        status = "active" if record.is_active else f"revoked {record.revoked_at:%Y-%m-%d %H:%M}"
        table.add_row(
            record.key_id, record.tenant_id, record.role, record.label,
            f"{record.created_at:%Y-%m-%d %H:%M}", status,
        )  # fmt: skip
    Console(width=120).print(table)


def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id shown by create or list.")],
    tenant: OptionalTenantOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Revoke a key; requests with it fail with 401 from then on."""
    with open_storage(database_url) as storage:
        record = storage.find_api_key_by_id(key_id)
        if record is None or (tenant is not None and record.tenant_id != tenant):
            raise NotFoundError(f"no API key {key_id!r}")
        ApiKeyService(storage).revoke(record.tenant_id, key_id)
    Console(stderr=True).print(f"revoked key {key_id}", highlight=False)
