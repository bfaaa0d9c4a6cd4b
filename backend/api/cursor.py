"""Opaque keyset cursors for ``GET /anomalies``.

A cursor encodes the sort key of the last item served, ``(window_start, id)``, plus the sort
direction. The next page starts strictly after that key, so results stored between two
requests never shift a page the way an offset would: nothing is skipped or served twice.
The encoding (URL-safe base64 of a small JSON array) is an implementation detail; clients pass
the string back as it is.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson

from backend.errors import ValidationError

__all__ = ["Cursor"]

_VERSION = 1
_ORDERS = ("asc", "desc")


@dataclass(frozen=True, order=True)
class Cursor:
    """Position after the item with ``window_start_ns`` and ``id``, in ``order``.

    >>> c = Cursor(1_700_000_000_000_000_000, 42, "desc")
    >>> Cursor.decode(c.encode()) == c
    True
    """

    window_start_ns: int
    id: int
    order: str = "desc"

    def encode(self) -> str:
        """The opaque string handed to clients."""
        raw = orjson.dumps([_VERSION, self.window_start_ns, self.id, self.order])
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse a cursor from :meth:`encode`; anything else is a ValidationError on ``cursor``."""
        try:
            padded = text + "=" * (-len(text) % 4)
            data = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            data = None
        if not _well_formed(data):
            raise ValidationError("cursor", text, "not a cursor returned by this API")
        return cls(int(data[1]), int(data[2]), str(data[3]))

    def is_after(self, window_start_ns: int, item_id: int) -> bool:
        """True when an item with this sort key comes after the cursor in its order."""
        if self.order == "asc":
            return (window_start_ns, item_id) > (self.window_start_ns, self.id)
        return (window_start_ns, item_id) < (self.window_start_ns, self.id)


def _well_formed(data: object) -> bool:
    return (
        isinstance(data, list)
        and len(data) == 4
        and data[0] == _VERSION
        and all(isinstance(v, int) and not isinstance(v, bool) for v in data[1:3])
        and data[3] in _ORDERS
    )
