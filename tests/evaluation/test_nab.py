from __future__ import annotations

import pytest

from backend.detection.default_engine import DefaultAnomalyEngine
from backend.evaluation.nab import evaluate_nab
from backend.evaluation.report import nab_file_table, nab_table, nab_to_dict
from tests.evaluation._nab import nab_dir


@pytest.mark.slow
def test_evaluate_nab_default_engine_full_corpus() -> None:
    result = evaluate_nab(DefaultAnomalyEngine(), nab_dir())
    standard = result.optimised[0]
    assert result.files == 17 and result.windows == 30
    assert standard.normalized > 35.95  # beats the rolling z-score reference
    assert nab_to_dict(result)["optimised"]["standard"]["normalized"] == standard.normalized
    assert nab_table(result).row_count == 3
    assert len(result.per_file) == 17
    assert sum(f.raw for f in result.per_file) == pytest.approx(standard.raw, abs=1e-9)
    assert sum(f.false_positives for f in result.per_file) == standard.false_positives
    assert len(nab_to_dict(result)["per_file"]) == 17
    assert nab_file_table(result).row_count == 17
