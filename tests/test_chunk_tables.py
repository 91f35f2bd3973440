"""The streaming index's chunk tables, built from a local file and read back locally."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from neurodatashare.client.streaming import open_hdf5
from neurodatashare.formats.nwb import TABLES_KIND, build_index
from neurodatashare.nwb.chunk_tables import BLOCK_CHUNKS, INLINE_CHUNKS, TABLES_KEY


def test_only_numbers_read_as_stored_move_to_a_table(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    n = 2 * (INLINE_CHUNKS + 1000)
    numbers = (np.arange(n) % 1000).astype(np.int16)
    words = np.array([f"w{i}" for i in range(INLINE_CHUNKS + 500)], dtype=object)
    with h5py.File(path, "w") as f:
        f.create_dataset("n", data=numbers, chunks=(2,))
        f.create_dataset("s", data=words, chunks=(1,), dtype=h5py.string_dtype())
        f.create_dataset("c", data=np.arange(300_000, dtype=np.float64))  # contiguous
    out = tmp_path / "index.json"
    with open(path, "rb") as reader:
        build_index(reader, out)
    index = json.loads(out.read_bytes())
    tables = index[TABLES_KEY]
    assert set(tables) == {"n", "c"} and tables["n"]["count"] == n // 2
    blocks = tables["n"]
    # blocks of BLOCK_CHUNKS chunks, sorted, one after another in the artifact
    assert len(blocks["first"]) == len(blocks["offset"]) == len(blocks["length"]) == 11
    assert blocks["first"] == [b * BLOCK_CHUNKS for b in range(11)]
    ends = [o + n for o, n in zip(blocks["offset"], blocks["length"], strict=True)]
    assert blocks["offset"] == [0, *ends[:-1]]
    assert tables["c"] == {"contiguous": [tables["c"]["contiguous"][0], 300_000 * 8]}
    assert not [k for k, v in index["refs"].items() if k.startswith("n/") and isinstance(v, list)]
    # the strings keep lindi's own link (lindi decodes them through h5py)
    assert "_EXTERNAL_ARRAY_LINK" in index["refs"]["s/.zattrs"]
    side = (tmp_path / TABLES_KIND).read_bytes()
    assert len(side) == ends[-1] < n  # well under a byte a chunk
    index["templates"] = {"u": str(path)}
    fetched: list[list[tuple[int, int]]] = []

    def fetch(ranges: list[tuple[int, int]]) -> list[bytes]:
        fetched.append(ranges)
        return [side[o : o + length] for o, length in ranges]

    def block(b: int) -> tuple[int, int]:
        return blocks["offset"][b], blocks["length"][b]

    f = open_hdf5(index=index, url="", fetch_table=fetch)
    # chunks 2 to 10,000: the blocks listing them, in one call, and only those
    assert np.array_equal(f["n"][5:20_001], numbers[5:20_001])
    assert fetched == [[block(b) for b in range(10)]]
    assert np.array_equal(f["n"][-3:], numbers[-3:])
    assert fetched[1:] == [[block(10)]]
    assert np.array_equal(f["n"][7:9], numbers[7:9])  # cached: no fetch
    assert np.array_equal(f["c"][123_457:170_000], np.arange(123_457, 170_000))
    assert len(fetched) == 2


def test_a_version_1_entry_one_block_per_dataset_still_reads(tmp_path: Path) -> None:
    """An index built before the blocks (served until start-up rebuilds it) still reads."""
    from neurodatashare.nwb.chunk_tables import encode_block

    path = tmp_path / "f.h5"
    numbers = np.arange(4 * (INLINE_CHUNKS + 10), dtype=np.int32)
    with h5py.File(path, "w") as f:
        f.create_dataset("n", data=numbers, chunks=(4,))
    out = tmp_path / "index.json"
    with open(path, "rb") as reader:
        build_index(reader, out)
    index = json.loads(out.read_bytes())
    with h5py.File(path, "r") as f:
        from neurodatashare.nwb.chunk_tables import _table

        section = encode_block(*_table(f["n"]))
    index[TABLES_KEY]["n"] = {"offset": 0, "length": len(section), "count": INLINE_CHUNKS + 10}
    index["templates"] = {"u": str(path)}
    f = open_hdf5(
        index=index, url="", fetch_table=lambda ranges: [section[o : o + n] for o, n in ranges]
    )
    assert np.array_equal(f["n"][3:40_033], numbers[3:40_033])
