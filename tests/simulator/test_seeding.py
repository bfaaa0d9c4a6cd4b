"""Per-key random streams: stable across runs, distinct across keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import backend.simulator._seeding as seeding
from backend.simulator._seeding import derive_rng, fresh_entropy, key_words

_LOAD_AND_PRINT = (
    "import importlib.util as u, sys; spec = u.spec_from_file_location('s', sys.argv[1]); "
    "m = u.module_from_spec(spec); spec.loader.exec_module(m); print(m.key_words('t', 'c', 'n'))"
)


def test_key_words_stable_across_processes_and_hash_seeds() -> None:
    path = str(Path(seeding.__file__).resolve())
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", _LOAD_AND_PRINT, path],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        assert out.strip() == str(key_words("t", "c", "n"))


def test_key_words_length_prefix_prevents_collisions() -> None:
    assert key_words("ab", "c") != key_words("a", "bc")
    assert key_words("a", "") != key_words("a")


def test_derive_rng_distinct_keys_give_distinct_streams() -> None:
    a = derive_rng(1, "t", "c", "node-1").random(8)
    b = derive_rng(1, "t", "c", "node-2").random(8)
    c = derive_rng(2, "t", "c", "node-1").random(8)
    assert not (a == b).all() and not (a == c).all()


def test_fresh_entropy_is_a_non_negative_int() -> None:
    seed = fresh_entropy()
    assert isinstance(seed, int) and 0 <= seed < 2**63
