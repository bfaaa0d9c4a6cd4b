"""Opaque keyset cursors."""

from __future__ import annotations

import base64

import pytest

from backend.api.cursor import Cursor
from backend.errors import ValidationError


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_cursor_round_trips(order: str) -> None:
    cursor = Cursor(1_704_067_200_000_000_000, 987, order)
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize(
    "text",
    ["", "!!!", "abc", base64.urlsafe_b64encode(b"[1, 2]").decode(),
     base64.urlsafe_b64encode(b'[1, 0, 1, "sideways"]').decode(),
     base64.urlsafe_b64encode(b'[9, 0, 1, "asc"]').decode(),
     base64.urlsafe_b64encode(b'[1, true, 1, "asc"]').decode(), "é"],
)  # fmt: skip
def test_cursor_decode_garbage_names_cursor(text: str) -> None:
    with pytest.raises(ValidationError, match="cursor"):
        Cursor.decode(text)


def test_cursor_is_after_follows_order() -> None:
    desc = Cursor(100, 5, "desc")
    assert desc.is_after(100, 4) and desc.is_after(99, 50)
    assert not desc.is_after(100, 5) and not desc.is_after(101, 1)
    asc = Cursor(100, 5, "asc")
    assert asc.is_after(100, 6) and asc.is_after(101, 1)
    assert not asc.is_after(100, 5) and not asc.is_after(99, 50)
