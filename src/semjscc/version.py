"""The one place the package version is set (``pyproject.toml`` reads it from here)."""

__version__ = "0.3.0"
