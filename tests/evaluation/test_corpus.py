from __future__ import annotations

import numpy as np
import pytest

from backend.errors import ValidationError
from backend.evaluation.corpus import load_corpus, read_series_csv
from tests.evaluation._nab import nab_dir


def test_load_corpus_reads_every_labelled_file() -> None:
    corpus = load_corpus(nab_dir())
    assert len(corpus) == 17 and sum(len(c.windows) for c in corpus) == 30
    assert sum(c.length for c in corpus) == 67_740


def test_read_series_csv_repeated_timestamps_made_increasing() -> None:
    path = nab_dir() / "data" / "realAWSCloudwatch" / "ec2_disk_write_bytes_1ef3de.csv"
    ts, values = read_series_csv(path)
    assert (np.diff(ts) > 0).all() and ts.shape == values.shape


def test_load_corpus_without_labels_rejected(tmp_path) -> None:
    with pytest.raises(ValidationError, match="combined_windows"):
        load_corpus(tmp_path)
