"""A byte-bounded LRU of arrays read from h5ad blobs, shared by request threads.

Keys start with the blob id; a blob never changes, so an entry never goes stale. It holds
data only: the services check access before every use (archive/expression.py).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

from neurodatashare.formats.expression.limits import CACHE_BYTES

T = TypeVar("T")


def nbytes(value: Any) -> int:
    """An estimate of what a cached value holds (arrays, categoricals, tuples of them)."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return int(value.size) * 64
        return int(value.nbytes)
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value) + 64
    codes = getattr(value, "codes", None)
    if codes is not None:  # pandas Categorical
        return nbytes(np.asarray(codes)) + nbytes(np.asarray(value.categories))
    return 64


class ColumnCache:
    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.misses = 0  # values read from files (tests and benchmarks read it)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def size(self) -> int:
        with self._lock:
            return self._bytes

    def get(self, key: Hashable) -> Any:
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            self._entries.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, value: Any) -> None:
        size = nbytes(value)
        with self._lock:
            if key in self._entries:
                self._bytes -= self._entries.pop(key)[1]
            if size > self.max_bytes:
                return  # larger than the whole cache: served, not kept
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def fetch(self, key: Hashable, read: Callable[[], T]) -> T:
        """The cached value, or `read()` kept for next time. Two threads may both read a
        missing value; the second simply replaces the first."""
        value = self.get(key)
        if value is None:
            value = read()
            self.misses += 1
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


#: The one cache every request shares.
COLUMNS = ColumnCache()
