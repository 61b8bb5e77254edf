"""chiso ("chỉ số", index): steer a province's administrative reform from live data."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chiso")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
