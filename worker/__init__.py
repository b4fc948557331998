"""BookyFlow channel worker: keeps a vendor's inventory in step with BookyFlow hotel sites."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bookyflow-worker")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
