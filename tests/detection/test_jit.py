"""The streaming kernel is compiled without numba's reference counting.

With it, every array passed to an inlined helper was counted up and down with atomic
instructions, which took half of the per-point time (``python -m benchmarks detect``).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba.core.registry import CPUDispatcher

from backend.detection.streaming import calibration, kernel, seasonal
from backend.detection.streaming.detector import DetectorBank, StreamingDetector


def _compiled_functions() -> list[Any]:
    modules = (kernel, calibration, seasonal)
    return [f for m in modules for f in vars(m).values() if isinstance(f, CPUDispatcher)]


def test_every_compiled_function_of_the_kernel_skips_reference_counting() -> None:
    compiled = _compiled_functions()
    assert {f.__name__ for f in compiled} >= {"step", "refit", "_score_into", "_bank_into"}
    counted = [f.__name__ for f in compiled if f.targetoptions.get("_nrt", True)]
    assert counted == []


def test_the_history_loop_emits_no_reference_counts() -> None:
    StreamingDetector().score(np.arange(5, dtype=np.int64) * 60 * 10**9, np.ones(5))
    loop: Any = kernel._score_into  # a numba dispatcher
    signature = loop.signatures[0]
    skipped = ("cache", "nopython")  # the cached code cannot be inspected: compile afresh
    options = {k: v for k, v in loop.targetoptions.items() if k not in skipped}
    fresh = numba.njit(**options)(loop.py_func)
    fresh.compile(signature)
    ir = fresh.inspect_llvm(signature)
    assert "NRT_incref" not in ir and "NRT_decref" not in ir
    counting = numba.njit(**{**options, "_nrt": True})(loop.py_func)
    counting.compile(signature)  # the check can fail: with counting, the loop does count
    assert "NRT_decref" in counting.inspect_llvm(signature)


def test_a_bank_row_is_written_in_place() -> None:
    bank = DetectorBank(3)
    before = bank.states.copy()
    bank.update(np.array([1]), np.array([0], dtype=np.int64), np.array([5.0]))
    assert np.array_equal(bank.states[[0, 2]], before[[0, 2]])
    assert not np.array_equal(bank.states[1], before[1])
