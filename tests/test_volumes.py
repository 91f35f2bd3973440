"""The slice viewer's service (archive/volumes.py) and routes (server/routes/volumes.py):
tiles equal NumPy slicing of the array, only the chunks a view needs are read, a 137 GB
sparse volume opens like a small one, and a one-level volume gets a pyramid."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neurodatashare.archive import volume_pyramid, volumes
from neurodatashare.errors import BadRequest, Unreadable
from neurodatashare.testing.volumes import (
    CountingStore,
    DirMapping,
    break_volume,
    write_sparse,
    write_v05,
    write_volume,
)


def _decode(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _grey(values: np.ndarray, start: float, end: float) -> np.ndarray:
    scaled = np.clip((values.astype(np.float64) - start) / (end - start), 0, 1)
    return (scaled * 255 + 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    path = tmp_path_factory.mktemp("vol") / "small.ome.zarr"
    data = write_volume(
        path,
        shape=(2, 2, 12, 256, 192),
        axes="tczyx",
        dtype="uint16",
        levels=3,
        chunks=(1, 1, 4, 64, 64),
    )
    return path, data


@pytest.mark.parametrize("plane", ["xy", "xz", "yz"])
def test_a_full_resolution_tile_equals_numpy_slicing(
    small: tuple[Path, np.ndarray], plane: str
) -> None:
    path, data = small
    store = DirMapping(path)
    t, c, z, y, x = 1, 1, 7, 100, 50
    start, end = 0.0, float(data.max())
    if plane == "xy":
        expected, region, index = data[t, c, z, 64:128, 0:64], (0, 64, 64, 128), {"t": t, "z": z}
    elif plane == "xz":
        expected, region, index = data[t, c, 0:12, y, 64:128], (64, 0, 128, 12), {"t": t, "y": y}
    else:
        expected, region, index = data[t, c, 0:12, 0:256, x], (0, 0, 256, 12), {"t": t, "x": x}
    h, w = expected.shape
    png, header = volumes.render(
        store,
        plane=plane,
        index=index,
        region=region,
        size=(w, h),
        channels=[{"index": c, "color": "FFFFFF", "start": start, "end": end}],
    )
    assert header["level"] == 0
    image = _decode(png)
    assert image.shape == (h, w, 3)
    assert np.array_equal(image[..., 0], _grey(expected, start, end))
    assert np.array_equal(image[..., 0], image[..., 2])


def test_the_level_matches_the_screen_and_its_pixels_are_that_levels(
    small: tuple[Path, np.ndarray],
) -> None:
    import zarr

    path, _ = small
    store = DirMapping(path)
    level2 = zarr.open_array(str(path / "2"), mode="r")[0, 0, 3]  # 64 x 48
    # the whole 256 x 192 plane on 64 x 48 pixels: level 2 (4 voxels per pixel)
    png, header = volumes.render(
        store,
        plane="xy",
        index={"z": 3},
        region=(0, 0, 192, 256),
        size=(48, 64),
        channels=[{"index": 0, "color": "FF0000", "start": 0, "end": 3000}],
    )
    assert header["level"] == 2
    image = _decode(png)
    assert np.array_equal(image[..., 0], _grey(level2, 0, 3000))
    assert not image[..., 1].any() and not image[..., 2].any()  # red only
    # 2 voxels per pixel: level 1; 1.05 per pixel still level 0 (Neuroglancer's 1.1 rule)
    assert (
        volumes.render(store, plane="xy", index={}, region=(0, 0, 192, 256), size=(96, 128))[1][
            "level"
        ]
        == 1
    )
    assert (
        volumes.render(store, plane="xy", index={}, region=(0, 0, 105, 105), size=(100, 100))[1][
            "level"
        ]
        == 0
    )


def test_two_channels_are_added_in_their_colours(small: tuple[Path, np.ndarray]) -> None:
    path, data = small
    png, _ = volumes.render(
        DirMapping(path),
        plane="xy",
        index={"z": 2},
        region=(0, 0, 64, 64),
        size=(64, 64),
        level=0,
        channels=[
            {"index": 0, "color": "FF0000", "start": 0, "end": 4000},
            {"index": 1, "color": "00FF00", "start": 100, "end": 2000},
        ],
    )
    image = _decode(png)
    assert np.array_equal(image[..., 0], _grey(data[0, 0, 2, :64, :64], 0, 4000))
    assert np.array_equal(image[..., 1], _grey(data[0, 1, 2, :64, :64], 100, 2000))
    assert not image[..., 2].any()


def test_only_the_chunks_of_the_view_are_read(small: tuple[Path, np.ndarray]) -> None:
    path, _ = small
    store = CountingStore(DirMapping(path))
    # level 0 chunks are (1, 1, 4, 64, 64): x 64..128 and y 0..64 at z 5 is one chunk per
    # channel; a region straddling a chunk border touches two
    volumes.render(
        store,
        plane="xy",
        index={"t": 1, "z": 5},
        region=(64, 0, 128, 64),
        size=(64, 64),
        channels=[{"index": 1, "color": "FFFFFF"}],
    )
    assert store.chunk_reads() == ["0/1/1/1/0/1"]
    assert not store.listed
    store.reset()
    volumes.render(
        store,
        plane="xy",
        index={"z": 5},
        region=(100, 10, 140, 30),
        size=(40, 20),
        channels=[{"index": 0, "color": "FFFFFF"}, {"index": 1, "color": "00FF00"}],
    )
    assert sorted(store.chunk_reads()) == [
        "0/0/0/1/0/1",
        "0/0/0/1/0/2",
        "0/0/1/1/0/1",
        "0/0/1/1/0/2",
    ]
    store.reset()
    # an xz plane at y=70 over x 0..64: the chunks along z (3 of 4 voxels each) in y chunk 1
    _, header = volumes.render(
        store,
        plane="xz",
        index={"y": 70},
        region=(0, 0, 64, 12),
        size=(64, 12),
        channels=[{"index": 0, "color": "FFFFFF"}],
    )
    assert sorted(store.chunk_reads()) == [f"0/0/0/{k}/1/0" for k in range(3)]
    assert header["chunks"] == 3


@pytest.mark.parametrize(
    "codecs",
    [
        None,  # bytes + blosc
        [{"name": "bytes", "configuration": {"endian": "big"}}, {"name": "gzip"}],
        [
            {"name": "transpose", "configuration": {"order": [3, 2, 1, 0]}},
            {"name": "bytes"},
            {"name": "zstd"},
            {"name": "crc32c"},
        ],
    ],
)
def test_an_ngff_05_zarr_v3_volume_is_drawn(tmp_path: Path, codecs: Any) -> None:
    path = tmp_path / "v05.ome.zarr"
    data = write_v05(path, codecs=codecs)  # czyx (2, 8, 96, 128), chunks (1, 4, 32, 32)
    store = CountingStore(DirMapping(path))
    layout = volumes.layout(store)
    assert layout["ngff_version"] == "0.5" and len(layout["levels"]) == 2
    store.reset()
    png, header = volumes.render(
        store,
        plane="xz",
        index={"y": 40},
        region=(20, 0, 70, 8),
        size=(50, 8),
        level=0,
        channels=[{"index": 1, "color": "FFFFFF", "start": 0, "end": 5000}],
    )
    assert np.array_equal(_decode(png)[..., 0], _grey(data[0][1, :, 40, 20:70], 0, 5000))
    # x 20..70 spans chunks 0-2, z 0..8 chunks 0-1, at y chunk 1 of channel 1
    assert sorted(store.chunk_reads()) == sorted(
        f"0/c/1/{z}/1/{x}" for z in range(2) for x in range(3)
    )
    png, header = volumes.render(
        store,
        plane="xy",
        index={"z": 3},
        region=(0, 0, 128, 96),
        size=(64, 48),
        channels=[{"index": 0, "color": "FFFFFF", "start": 0, "end": 5000}],
    )
    assert header["level"] == 1
    assert np.array_equal(_decode(png)[..., 0], _grey(data[1][0, 3], 0, 5000))


def test_a_sharded_v3_volume_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "sharded.ome.zarr"
    write_v05(
        path,
        levels=1,
        chunks=(1, 8, 64, 64),
        codecs=[
            {
                "name": "sharding_indexed",
                "configuration": {"chunk_shape": [1, 4, 32, 32], "codecs": [{"name": "bytes"}]},
            }
        ],
    )
    with pytest.raises(Unreadable, match="sharded"):
        volumes.render(DirMapping(path), plane="xy", index={}, region=(0, 0, 64, 64), size=(64, 64))


def test_a_store_with_a_cache_key_has_its_metadata_read_once(
    small: tuple[Path, np.ndarray],
) -> None:
    store = CountingStore(DirMapping(small[0]))
    store.cache_key = "sha-of-the-small-volume"  # type: ignore[attr-defined]
    args: dict[str, Any] = {
        "plane": "xy",
        "index": {"z": 1},
        "region": (0, 0, 64, 64),
        "size": (64, 64),
        "channels": [{"index": 0, "color": "FFFFFF"}],
    }
    volumes.render(store, **args)
    store.reset()
    volumes.render(store, **args)
    volumes.layout(store)
    assert store.reads == ["0/0/0/0/0/0"]  # the chunk again; no metadata document


def test_a_sparse_137_gb_volume_opens_in_a_screenful_of_reads(tmp_path: Path) -> None:
    info = write_sparse(tmp_path / "big.ome.zarr")  # 4096^3 uint16, 64^3 chunks
    store = CountingStore(DirMapping(tmp_path / "big.ome.zarr"))
    layout = volumes.layout(store)
    assert layout["levels"][0]["shape"] == [4096, 4096, 4096] and len(layout["levels"]) == 7
    store.reset()
    z = info["centre"][0]
    png, header = volumes.render(
        store, plane="xy", index={"z": z}, region=(0, 0, 4096, 4096), size=(1024, 1024)
    )
    assert header["level"] == 2  # 1024^2 voxels for 1024^2 pixels
    # the default contrast (no omero window) reads the coarsest level's one chunk
    coarsest, *chunks = store.chunk_reads()
    assert coarsest == "6/0/0/0"
    assert len(chunks) == 16 * 16  # the plane at level 2: 1024 / 64 chunks each way
    assert all(k.startswith("2/8/") for k in chunks)  # z 512 of level 2 is chunk row 8
    assert len(store.found) - len(store.reads) + len(chunks) <= 16  # few hold data
    assert store.bytes_read < 1_000_000 and not store.listed
    image = _decode(png)
    bright = np.argwhere(image[..., 0] > 0)
    assert len(bright) > 0
    assert abs(bright.mean(axis=0) - 512).max() < 2  # the cube at the centre


def test_too_large_a_read_is_refused_with_a_reason(tmp_path: Path) -> None:
    write_sparse(tmp_path / "flat.ome.zarr", shape=(64, 4096, 4096), chunks=(64, 64, 64), levels=1)
    store = DirMapping(tmp_path / "flat.ome.zarr")
    with pytest.raises(BadRequest, match=r"would read 4,096 chunks.*no pyramid yet"):
        volumes.render(store, plane="xy", index={}, region=(0, 0, 4096, 4096), size=(512, 512))
    assert volume_pyramid.needs_pyramid(store)


def test_a_pyramid_is_built_for_a_one_level_volume(tmp_path: Path) -> None:
    import zarr

    data = write_volume(
        tmp_path / "flat.ome.zarr",
        shape=(2, 4, 1000, 600),
        axes="czyx",
        dtype="uint16",
        levels=1,
        chunks=(1, 4, 256, 256),
    )
    store = DirMapping(tmp_path / "flat.ome.zarr")
    summary = volume_pyramid.build_pyramid(store, tmp_path / "pyramid", top=128)
    assert summary["levels"] == 3
    level1 = zarr.open_array(str(tmp_path / "pyramid" / "1"), mode="r")
    assert level1.shape == (2, 4, 500, 300)  # z (2 µm against 0.5) is kept
    expected = data.astype(np.float64).reshape(2, 4, 500, 2, 300, 2).mean(axis=(3, 5))
    assert np.array_equal(level1[:], np.rint(expected).astype(np.uint16))
    pyramid = CountingStore(DirMapping(tmp_path / "pyramid"))
    layout = volumes.layout(store, pyramid=pyramid)
    assert [lv["shape"][-1] for lv in layout["levels"]] == [600, 300, 150, 75]
    assert layout["levels"][1]["factor"] == [1.0, 1.0, 2.0, 2.0]
    pyramid.reset()
    png, header = volumes.render(
        store,
        plane="xy",
        index={"z": 3},
        region=(0, 0, 600, 1000),
        size=(150, 250),
        pyramid=pyramid,
        channels=[{"index": 0, "color": "FFFFFF", "start": 0, "end": 60000}],
    )
    assert header["level"] == 2
    assert all(k.startswith("2/") for k in pyramid.chunk_reads())
    level2 = zarr.open_array(str(tmp_path / "pyramid" / "2"), mode="r")[0, 3]
    assert np.array_equal(_decode(png)[..., 0], _grey(level2, 0, 60000))


def test_a_sparse_volume_pyramid_stays_sparse(tmp_path: Path) -> None:
    import zarr

    path = tmp_path / "sparse.ome.zarr"
    write_sparse(path, shape=(256, 1024, 1024), chunks=(64, 128, 128), levels=1)
    volume_pyramid.build_pyramid(DirMapping(path), tmp_path / "pyr", top=256)
    level1 = zarr.open_array(str(tmp_path / "pyr" / "1"), mode="r")
    assert level1.nchunks_initialized < level1.nchunks // 10
    assert level1[64, 256, 256] == 1000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"plane": "xq"}, "plane must be one of"),
        ({"level": 7}, "There is no level 7"),
        ({"index": {"z": 99}}, "z must be between 0 and 11"),
        ({"index": {"q": 1}}, "'q' is not an axis"),
        ({"size": (0, 10)}, "1 to 2048 pixels"),
        ({"region": (5, 5, 5, 10)}, "x1 > x0"),
        ({"channels": [{"index": 4, "color": "FFFFFF"}]}, "There is no channel 4"),
        ({"channels": [{"index": 0, "color": "FFFFFF", "start": 5, "end": 1}]}, "start < end"),
    ],
)
def test_bad_requests_say_what_is_wrong(
    small: tuple[Path, np.ndarray], kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {
        "plane": "xy",
        "index": {},
        "region": (0, 0, 64, 64),
        "size": (64, 64),
    } | kwargs
    with pytest.raises(BadRequest, match=message):
        volumes.render(DirMapping(small[0]), **args)


def test_a_broken_volume_is_refused_not_crashed(tmp_path: Path) -> None:
    path = tmp_path / "broken.ome.zarr"
    write_volume(path, shape=(2, 4, 64, 64), axes="czyx", levels=2)
    break_volume(path, "axes_order")
    with pytest.raises(Unreadable, match="time first, then channel"):
        volumes.layout(DirMapping(path))


# -- the routes, with the store dependency pointed at test directories --------------------

ASSET = "5d0c4a52-8f59-4e7f-9d61-2b8a3c9e1f01"


@pytest.fixture
def client(small: tuple[Path, np.ndarray]) -> Iterator[TestClient]:
    from neurodatashare.server.errors import install_error_handlers
    from neurodatashare.server.routes import volumes as routes

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(routes.router)
    stores: dict[str, Mapping[str, bytes]] = {ASSET: DirMapping(small[0])}

    def store_for(asset_id: str) -> tuple[Mapping[str, bytes], None]:
        if asset_id not in stores:
            from neurodatashare.errors import NotFound

            raise NotFound(f"Asset {asset_id} does not exist.")
        return stores[asset_id], None

    def override(asset_id: str) -> Callable[[], tuple[Mapping[str, bytes], None]]:
        return lambda: store_for(asset_id)

    app.dependency_overrides[routes.volume_store] = override
    with TestClient(app) as c:
        yield c


def test_the_routes_serve_the_layout_and_slices(
    client: TestClient, small: tuple[Path, np.ndarray]
) -> None:
    _, data = small
    api = f"/api/assets/{ASSET}/explore/volume"
    layout = client.get(api).json()
    assert layout["planes"] == ["xy", "xz", "yz"] and len(layout["levels"]) == 3
    assert [c["color"] for c in layout["channels"]] == ["FF0000", "00FF00"]
    r = client.get(
        f"{api}/slice.png",
        params={
            "z": 4,
            "t": 1,
            "left": 0,
            "top": 0,
            "right": 64,
            "bottom": 64,
            "width": 64,
            "height": 64,
            "channel": "1:FFFFFF:0:3000",
        },
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["x-volume-level"] == "0"
    assert np.array_equal(_decode(r.content)[..., 1], _grey(data[1, 1, 4, :64, :64], 0, 3000))
    whole = client.get(f"{api}/slice.png", params={"plane": "yz", "x": 10})
    assert whole.status_code == 200 and _decode(whole.content).shape == (24, 512, 3)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"plane": "ab"}, "plane"),
        ({"level": "-1"}, "level"),
        ({"level": "9"}, "There is no level 9"),
        ({"z": "-3"}, "z"),
        ({"z": "500"}, "z must be between 0 and 11"),
        ({"width": "5000"}, "width"),
        ({"left": "nan"}, "left"),
        ({"channel": "red"}, "INDEX:RRGGBB"),
        ({"channel": "9:FF0000"}, "There is no channel 9"),
    ],
)
def test_the_routes_answer_400_to_bad_parameters(
    client: TestClient, params: dict[str, str], message: str
) -> None:
    r = client.get(f"/api/assets/{ASSET}/explore/volume/slice.png", params=params)
    assert r.status_code == 400, r.text
    assert message in r.json()["detail"]


def test_an_unknown_asset_is_404(client: TestClient) -> None:
    r = client.get("/api/assets/5d0c4a52-8f59-4e7f-9d61-2b8a3c9e1f00/explore/volume")
    assert r.status_code == 404


def test_mutated_metadata_never_crashes_the_report_or_the_viewer(tmp_path: Path) -> None:
    """Random values (wrong types, zeros, negatives, 1e308, 2^70, NaN strings) put into the
    metadata documents: the report is still made (never "could not be read"), and the
    viewer answers with an NDSError (4xx), never another exception (a 500)."""
    import copy
    import json
    import random

    from neurodatashare.errors import NDSError
    from neurodatashare.formats.ome_zarr import process_store

    write_volume(tmp_path / "v", shape=(2, 4, 64, 64), axes="czyx", levels=2)
    files = {
        p.relative_to(tmp_path / "v").as_posix(): p.read_bytes()
        for p in (tmp_path / "v").rglob("*")
        if p.is_file()
    }
    values: list[Any] = [
        None,
        0,
        -1,
        1e308,
        "x",
        [],
        {},
        [1],
        [0, 0, 0, 0],
        True,
        "NaN",
        2**70,
        [None] * 4,
        {"type": "scale"},
        [-1.0] * 4,
    ]

    def paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        yield at
        items = (
            node.items()
            if isinstance(node, dict)
            else (enumerate(node) if isinstance(node, list) else [])
        )
        for k, v in items:
            yield from paths(v, (*at, k))

    rng = random.Random(12)
    for _ in range(300):
        store = dict(files)
        key = rng.choice([".zattrs", "0/.zarray", "1/.zarray"])
        doc = json.loads(files[key])
        for _ in range(rng.randint(1, 3)):
            where = rng.choice([p for p in paths(doc) if p])
            node = doc
            try:
                for k in where[:-1]:
                    node = node[k]
                node[where[-1]] = copy.deepcopy(rng.choice(values))
            except (KeyError, IndexError, TypeError):
                pass
        store[key] = json.dumps(doc).encode()
        done = process_store(store, path="v.ome.zarr")
        assert not (done.error or "").startswith("The OME-Zarr could not be read"), doc
        for plane in ("xy", "xz"):
            try:
                volumes.layout(store)
                volumes.render(store, plane=plane, index={}, region=(0, 0, 64, 64), size=(32, 32))
            except NDSError:
                pass
