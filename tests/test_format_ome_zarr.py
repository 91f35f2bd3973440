"""The OME-Zarr store format (formats/ome_zarr/): NGFF checks, one finding per problem, and
the description, on volumes written by ome-zarr-py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from neurodatashare.formats.ome_zarr import OME_ZARR, process_store
from neurodatashare.testing.volumes import (
    BREAKAGES,
    CountingStore,
    DirMapping,
    break_volume,
    write_sparse,
    write_volume,
)
from neurodatashare.validation.types import ValidationResult


def _checks(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["severity"], r["check"]) for r in results]


@pytest.mark.parametrize(
    ("shape", "axes", "dtype", "levels"),
    [
        ((64, 96), "yx", "uint8", 2),
        ((3, 8, 64, 64), "czyx", "uint16", 3),
        ((2, 2, 4, 64, 64), "tczyx", "float32", 3),
        ((5, 64, 64), "tyx", "uint16", 1),
    ],
)
def test_a_written_volume_is_described_without_findings(
    tmp_path: Path, shape: tuple[int, ...], axes: str, dtype: str, levels: int
) -> None:
    write_volume(tmp_path / "v.ome.zarr", shape=shape, axes=axes, dtype=dtype, levels=levels)
    store = CountingStore(DirMapping(tmp_path / "v.ome.zarr"))
    done = process_store(store, path="v.ome.zarr")
    assert done.error is None and done.results == []
    meta = done.metadata
    assert meta is not None
    assert meta["nds:format"] == "ome-zarr" and meta["encodingFormat"] == "application/x-zarr"
    summary = meta["nds:summary"]
    assert summary["axes"] == axes and summary["shape"] == list(shape)
    assert summary["dtype"] == dtype and summary["levels"] == levels
    assert len(summary["level_shapes"]) == levels
    # ome-zarr-py's Scaler halves y and x per level
    assert summary["level_shapes"][-1][-1] == shape[-1] // 2 ** (levels - 1)
    assert summary["voxel_size"]["x"] == {"size": 0.5, "unit": "micrometer"}
    if "z" in axes:
        assert summary["voxel_size"]["z"] == {"size": 2.0, "unit": "micrometer"}
    n_channels = shape[axes.index("c")] if "c" in axes else 1
    assert len(summary["channels"]) == n_channels
    if "c" in axes:
        assert summary["channels"][1]["label"] == "ch1"
        assert summary["channels"][1]["color"] == "00FF00"
    assert summary["declared_bytes"] == int(__import__("numpy").prod(shape)) * (
        1 if dtype == "uint8" else 2 if dtype == "uint16" else 4
    )
    # metadata only: no chunk read, no listing
    assert store.chunk_reads() == [] and not store.listed
    assert OME_ZARR.views(meta) == ["volume", "summary"]


def test_a_huge_sparse_volume_is_processed_from_its_metadata(tmp_path: Path) -> None:
    write_sparse(tmp_path / "big.ome.zarr")
    store = CountingStore(DirMapping(tmp_path / "big.ome.zarr"))
    done = process_store(store, path="big.ome.zarr")
    summary = done.metadata["nds:summary"]  # type: ignore[index]
    assert summary["declared_bytes"] > 100 * 10**9
    assert summary["levels"] == 7 and done.results == []
    assert store.chunk_reads() == [] and store.bytes_read < 20_000 and not store.listed


EXPECTED = {
    "no_multiscales": [("WARNING", "ome_zarr.version"), ("ERROR", "ome_zarr.multiscales")],
    "axes_order": [("ERROR", "ome_zarr.axes.order")],
    "bad_units": [("WARNING", "ome_zarr.axes.unit")] * 3,
    "missing_level": [("ERROR", "ome_zarr.datasets.missing")],
    "wrong_ndim": [("ERROR", "ome_zarr.datasets.ndim")],
    "scale_length": [("ERROR", "ome_zarr.transforms.length")],
    "negative_scale": [("ERROR", "ome_zarr.transforms.scale")],
    "omero_count": [("WARNING", "ome_zarr.omero.count")],
    "omero_color": [("WARNING", "ome_zarr.omero.color"), ("WARNING", "ome_zarr.omero.window")],
    "not_json": [("ERROR", "ome_zarr.unreadable")],
    "no_transforms": [("ERROR", "ome_zarr.transforms")],
}


@pytest.mark.parametrize("kind", BREAKAGES)
def test_each_kind_of_broken_metadata_gets_its_own_finding(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "broken.ome.zarr"
    write_volume(path, shape=(2, 4, 64, 64), axes="czyx", levels=3)
    break_volume(path, kind)
    done = process_store(DirMapping(path), path="broken.ome.zarr")
    assert _checks(done.results) == EXPECTED[kind]
    for r in done.results:  # each is a ValidationResult with a fix
        ValidationResult.model_validate(r)
        assert r["how_to_fix"] and r["object_path"]
    assert done.metadata is not None and done.metadata["nds:format"] == "ome-zarr"
    unreadable = kind in ("no_multiscales", "axes_order", "not_json")
    assert (done.error is not None) == unreadable
    assert done.metadata["nds:summary"]["viewable"] is not unreadable


def test_several_problems_at_once_each_get_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "v.ome.zarr"
    write_volume(path, shape=(2, 4, 64, 64), axes="czyx", levels=3)
    for kind in ("bad_units", "missing_level", "negative_scale", "omero_color"):
        break_volume(path, kind)
    done = process_store(DirMapping(path), path="v.ome.zarr")
    checks = [c for _, c in _checks(done.results)]
    assert checks.count("ome_zarr.axes.unit") == 3
    for c in ("datasets.missing", "transforms.scale", "omero.color", "omero.window"):
        assert f"ome_zarr.{c}" in checks
    # the levels that are fine are still described
    assert done.metadata["nds:summary"]["levels"] == 2  # type: ignore[index]


def _write_attrs(path: Path, attrs: dict[str, Any]) -> None:
    (path / ".zattrs").write_text(json.dumps(attrs))


def test_axis_rules(tmp_path: Path) -> None:
    path = tmp_path / "v.ome.zarr"
    write_volume(path, shape=(2, 4, 64, 64), axes="czyx", levels=1)
    attrs = json.loads((path / ".zattrs").read_text())
    ms = attrs["multiscales"][0]
    cases: list[tuple[list[Any], list[str]]] = [
        (
            [{"name": "x", "type": "space"}],
            ["ome_zarr.axes.count", "ome_zarr.axes.space", "ome_zarr.axes.unit"],
        ),
        (
            [
                {"name": "c", "type": "channel"},
                {"name": "y", "type": "space"},
                {"name": "y", "type": "space"},
                {"name": "x", "type": "space"},
            ],
            ["ome_zarr.axes.duplicate"] + ["ome_zarr.axes.unit"] * 3,
        ),
        (
            [
                {"name": "c", "type": "channel"},
                {"name": "q", "type": "channel"},
                {"name": "y", "type": "space"},
                {"name": "x", "type": "space"},
            ],
            ["ome_zarr.axes.channel"] + ["ome_zarr.axes.unit"] * 2,
        ),
        (
            [
                {"name": "c", "type": "channel"},
                {"name": "z", "type": "space"},
                {"name": "x", "type": "space", "unit": "micrometer"},
                {"name": "y", "type": "space", "unit": "micrometer"},
            ],
            ["ome_zarr.axes.zyx", "ome_zarr.axes.unit"],
        ),
        (
            ["c", "z", "y", "x"],
            ["ome_zarr.axes.name"] * 4 + ["ome_zarr.axes.type"] * 4 + ["ome_zarr.axes.unit"] * 3,
        ),
    ]
    for axes, expected in cases:
        ms["axes"] = axes
        _write_attrs(path, attrs)
        done = process_store(DirMapping(path), path="v")
        assert sorted(c for _, c in _checks(done.results)) == sorted(expected), axes


def test_version_rules(tmp_path: Path) -> None:
    path = tmp_path / "v.ome.zarr"
    write_volume(path, shape=(2, 4, 64, 64), axes="czyx", levels=1)
    attrs = json.loads((path / ".zattrs").read_text())
    attrs["multiscales"][0]["version"] = "0.6"
    _write_attrs(path, attrs)
    done = process_store(DirMapping(path), path="v")
    assert _checks(done.results) == [("WARNING", "ome_zarr.version.unsupported")]
    assert done.metadata["nds:summary"]["viewable"] is False  # type: ignore[index]
    attrs["multiscales"][0]["version"] = "0.5"
    _write_attrs(path, attrs)
    done = process_store(DirMapping(path), path="v")
    assert ("ERROR", "ome_zarr.version.zarr") in _checks(done.results)


def test_an_ngff_05_zarr_v3_volume_is_checked_and_described() -> None:
    """NGFF 0.5 on Zarr v3 (written by hand: ome-zarr-py 0.11 writes 0.4 only)."""
    axes = [
        {"name": "c", "type": "channel"},
        {"name": "y", "type": "space", "unit": "micrometer"},
        {"name": "x", "type": "space", "unit": "micrometer"},
    ]
    root = {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": {
            "ome": {
                "version": "0.5",
                "multiscales": [
                    {
                        "axes": axes,
                        "datasets": [
                            {
                                "path": "0",
                                "coordinateTransformations": [
                                    {"type": "scale", "scale": [1, 0.3, 0.3]}
                                ],
                            },
                            {
                                "path": "1",
                                "coordinateTransformations": [
                                    {"type": "scale", "scale": [1, 0.6, 0.6]}
                                ],
                            },
                        ],
                    }
                ],
                "omero": {
                    "channels": [
                        {"color": "00FF00", "window": {"start": 0, "end": 9, "min": 0, "max": 9}}
                    ]
                },
            }
        },
    }

    def array(shape: list[int], names: list[str], dtype: str) -> bytes:
        return json.dumps(
            {
                "zarr_format": 3,
                "node_type": "array",
                "shape": shape,
                "data_type": dtype,
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": shape}},
                "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
                "fill_value": 0,
                "codecs": [{"name": "bytes"}],
                "dimension_names": names,
            }
        ).encode()

    store = {
        "zarr.json": json.dumps(root).encode(),
        "0/zarr.json": array([1, 64, 64], ["c", "y", "x"], "uint16"),
        "1/zarr.json": array([1, 32, 32], ["c", "y", "q"], "uint8"),
    }
    done = process_store(store, path="v.ome.zarr")
    summary = done.metadata["nds:summary"]  # type: ignore[index]
    assert summary["ngff_version"] == "0.5" and summary["zarr_format"] == 3
    assert summary["shape"] == [1, 64, 64] and summary["viewable"] is True
    assert _checks(done.results) == [
        ("ERROR", "ome_zarr.datasets.dimension_names"),
        ("ERROR", "ome_zarr.datasets.dtype"),  # an error from 0.5 on
    ]
    sharded = json.loads(store["0/zarr.json"])
    sharded["codecs"] = [
        {
            "name": "sharding_indexed",
            "configuration": {"chunk_shape": [1, 32, 32], "codecs": [{"name": "bytes"}]},
        }
    ]
    store["0/zarr.json"] = json.dumps(sharded).encode()
    done = process_store(store, path="v.ome.zarr")
    assert done.metadata["nds:summary"]["viewable"] is False  # type: ignore[index]
    assert ("INFO", "ome_zarr.viewer") in _checks(done.results)


def test_garbage_never_crashes() -> None:
    for store in (
        {},
        {".zgroup": b"{}", ".zattrs": b"[]"},
        {".zgroup": b"{}", ".zattrs": b'{"multiscales": [7]}'},
        {".zgroup": b"{}", ".zattrs": b'{"multiscales": [{"axes": 5, "datasets": "x"}]}'},
        {
            ".zgroup": b"{}",
            ".zattrs": b'{"multiscales": [{"axes": ["y", "x"], "datasets": '
            b'[{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": '
            b'["a", null]}]}]}]}',
            "0/.zarray": b'{"shape": [4, 4], "chunks": [2, 2], "dtype": "<u2"}',
        },
        {"zarr.json": b'{"node_type": "array"}'},
        {".zgroup": b"\xff\xfe", ".zattrs": b"\x00"},
    ):
        done = process_store(store, path="x.ome.zarr")
        assert done.results, store
        assert done.metadata is not None


def test_claims_by_suffix() -> None:
    assert OME_ZARR.claims("sub-1/sample.ome.zarr")
    assert OME_ZARR.claims("SUB/Sample.OME.ZARR/")
    assert not OME_ZARR.claims("sub-1/sample.zarr") and not OME_ZARR.claims("a.nwb")
    assert OME_ZARR.views({"nds:summary": {"viewable": False}}) == ["summary"]


def test_the_summary_card_reads_like_a_description(tmp_path: Path) -> None:
    from neurodatashare.web.views import summary_rows

    write_sparse(tmp_path / "big.ome.zarr")
    meta = process_store(DirMapping(tmp_path / "big.ome.zarr"), path="big.ome.zarr").metadata
    rows = dict(summary_rows(meta["nds:summary"]))  # type: ignore[index]
    assert rows["volume"] == "zyx 4096 x 4096 x 4096 uint16"
    assert rows["voxel"] == "0.25 x 0.25 x 0.25 micrometer (z, y, x)"
    assert rows["size"] == "137.4 GB uncompressed at full resolution"
    assert rows["levels"] == "7"
