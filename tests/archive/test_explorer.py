"""archive/explorer.py in-process: one service per view, open files reused, access checked
on every call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py._hl.files as h5files
import pytest

from neurodatashare.archive import Archive, explorer
from neurodatashare.archive.datasets import create_dataset, set_access
from neurodatashare.archive.ingest import ingest_file
from neurodatashare.archive.users import create_user
from neurodatashare.errors import BadRequest, NotAuthenticated, NotFound

SERIES = "/acquisition/ElectricalSeries"


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every HDF5 file h5py opens (File.__init__ looks make_fid up in its module)."""
    seen: list[Any] = []
    real = h5files.make_fid

    def counting(name: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(h5files, "make_fid", counting)
    return seen


def test_panning_reuses_the_open_file_and_access_is_checked_every_time(
    archive: Archive, demo_file: Path, opens: list[Any]
) -> None:
    alice = create_user(archive, username="alice")
    bob = create_user(archive, username="bob")
    ident = create_dataset(archive, user=alice, name="x", metadata={"name": "x"})["identifier"]
    aid = ingest_file(archive, user=alice, dataset_id=ident, path="sub-1/a.nwb", source=demo_file)[
        "asset_id"
    ]
    info = explorer.series_info(archive, asset_id=aid, user=bob, path=SERIES)
    assert info["n_channels"] == 64
    for i in range(5):
        w = explorer.series_window(
            archive,
            asset_id=aid,
            user=bob,
            path=SERIES,
            start=i * 0.1,
            end=i * 0.1 + 0.05,
            width=500,
            channels="0-3",
        )
        assert w.meta()["channels"] == [0, 1, 2, 3]
    assert len(opens) == 1 and archive.files.opens == 1  # the file is opened once

    set_access(archive, dataset_id=ident, user=alice, access="private")
    # the handle is still cached, but bob and anonymous get exactly what they got before
    assert len(archive.files) == 1
    with pytest.raises(NotFound):
        explorer.series_window(
            archive, asset_id=aid, user=bob, path=SERIES, start=0, end=0.05, width=500
        )
    with pytest.raises(NotAuthenticated):
        explorer.series_info(archive, asset_id=aid, user=None, path=SERIES)
    assert explorer.series_info(archive, asset_id=aid, user=alice, path=SERIES) == info
    assert len(opens) == 1


def test_each_view_has_its_service_and_errors_are_4xx(archive: Archive, demo_file: Path) -> None:
    alice = create_user(archive, username="alice")
    ident = create_dataset(archive, user=alice, name="x", metadata={"name": "x"})["identifier"]
    aid = ingest_file(archive, user=alice, dataset_id=ident, path="sub-1/a.nwb", source=demo_file)[
        "asset_id"
    ]
    me: dict[str, Any] = {"asset_id": aid, "user": alice}
    assert explorer.file_overview(archive, **me)
    assert explorer.table_rows(archive, **me, path="/intervals/trials", limit=2)["rows"]
    units = explorer.spikes(archive, **me, path="/units", start=0, end=1, units="0-1")["units"]
    assert [u["index"] for u in units] == [0, 1]
    assert explorer.waveforms(archive, **me, path="/units", units="0")["units"]
    with pytest.raises(BadRequest, match="kind must be mean or max"):
        explorer.projection(archive, **me, path="/x", kind="median")
    for bad in ("a-b", "9999", "5-2"):
        with pytest.raises(BadRequest):
            explorer.series_window(
                archive, **me, path=SERIES, start=0, end=1, width=100, channels=bad
            )
    with pytest.raises(BadRequest):
        explorer.spikes(archive, **me, path="/units", start=0, end=1, units="x")
    # a list of many long ranges is refused before any of it is expanded
    many = ",".join(["0-1000000"] * 1000)
    for call in (
        lambda: explorer.series_window(
            archive, **me, path=SERIES, start=0, end=1, width=100, channels=many
        ),
        lambda: explorer.psth(
            archive,
            **me,
            units_path="/units",
            intervals_path="/intervals/trials",
            align="start_time",
            group_by=None,
            pre=0.1,
            post=0.1,
            bin=0.05,
            units=many,
        ),
    ):
        with pytest.raises(BadRequest, match="at most 10,000"):
            call()
    assert archive.files.opens == 1
