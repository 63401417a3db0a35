"""Qualipref: correspondence and complaint tracking for French préfectures."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qualipref")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
