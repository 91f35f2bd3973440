"""Read the object arrays hdmf-zarr pickles, without running code from uploaded files.

hdmf-zarr writes arrays of object references (an electrodes table's `group` column, a
DynamicTableRegion) with numcodecs' Pickle filter by default. Unpickling can run any code
the file's author wrote, so numcodecs refuses to decode it unless a process opts in for
all data. An archive must not opt in for uploads, and must still read standard NWB-Zarr
files: this codec takes the codec id "pickle" and unpickles with an allow-list, only the
classes such arrays hold (numpy arrays and dtypes, hdmf-zarr's ZarrReference, builtins
containers and scalars). Anything else is refused with `UnsafePickle`, and the reader
reports the object as unreadable instead.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("hdmf_zarr.utils", "ZarrReference"),
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "tuple"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "str"),
        ("builtins", "bytes"),
        ("builtins", "int"),
        ("builtins", "float"),
        ("builtins", "complex"),
        ("builtins", "bool"),
    }
)


class UnsafePickle(pickle.UnpicklingError):
    """The pickled data names a class outside the allow-list."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        raise UnsafePickle(
            f"The Zarr array holds pickled {module}.{name}, which the archive does not "
            "unpickle (only object references and plain values)."
        )


def safe_loads(data: bytes) -> Any:
    return _Unpickler(io.BytesIO(data)).load()


_REGISTERED = False


def register() -> None:
    """Make numcodecs decode "pickle" filters with the allow-list (once per process)."""
    global _REGISTERED
    if _REGISTERED:
        return
    import numcodecs
    import numpy as np
    from numcodecs.compat import ensure_contiguous_ndarray
    from numcodecs.pickles import Pickle

    class AllowListPickle(Pickle):
        codec_id = "pickle"

        def decode(self, buf: Any, out: Any = None) -> Any:
            dec = safe_loads(bytes(ensure_contiguous_ndarray(buf)))
            if out is not None:
                np.copyto(out, dec)
                return out
            return dec

    numcodecs.register_codec(AllowListPickle)
    _REGISTERED = True
