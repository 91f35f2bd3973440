"""neurodatashare: standardise, share and explore neuroscience data."""

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neurodatashare.client import Client

try:
    __version__ = version("neurodatashare")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> Any:
    """`neurodatashare.Client`, imported on first use so `import neurodatashare` stays light."""
    if name == "Client":
        from neurodatashare.client import Client

        return Client
    raise AttributeError(f"module 'neurodatashare' has no attribute {name!r}")
