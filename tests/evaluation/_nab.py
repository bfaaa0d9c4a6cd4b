"""Locating the shared NAB development set (beside the repository in CI)."""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def nab_dir() -> Path:
    """The NAB directory: $ABOUTCLOUD_NAB_DIR, ../shared/data/nab, or /work/shared/data/nab."""
    candidates = [
        os.environ.get("ABOUTCLOUD_NAB_DIR", ""),
        str(_REPO.parent / "shared" / "data" / "nab"),
        "/work/shared/data/nab",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "labels" / "combined_windows.json").is_file():
            return Path(candidate)
    raise FileNotFoundError(f"NAB data not found in any of {candidates}")
