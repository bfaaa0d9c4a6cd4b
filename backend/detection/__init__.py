"""Detection: AboutCloud's own streaming anomaly detector and its engine.

The detector scores each point against what came before it (so one implementation serves
live data, backfill and evaluation), calibrates every score into a tail probability of the
series' own history, and keeps a small, serialisable state per series.
"""

from backend.detection.default_engine import DefaultAnomalyEngine
from backend.detection.state import STATE_BYTES, dump_state, load_state
from backend.detection.streaming.detector import DetectorBank, ScoredSeries, StreamingDetector
from backend.detection.streaming.params import DetectorParams

__all__ = [
    "STATE_BYTES",
    "DefaultAnomalyEngine",
    "DetectorBank",
    "DetectorParams",
    "ScoredSeries",
    "StreamingDetector",
    "dump_state",
    "load_state",
]
