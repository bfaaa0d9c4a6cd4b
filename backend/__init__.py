"""AboutCloud: multi-tenant anomaly analytics for cloud metrics."""

__version__ = "0.1.0"

__all__ = ["__version__"]
