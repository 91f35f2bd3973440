"""An NWB-Zarr asset (`.nwb.zarr`, written by hdmf-zarr) in the web explorer, in Chromium:
the asset page's tree lists its objects and the traces view draws its ElectricalSeries."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import EPHYS, PLOT_READY, DemoServer, Page, page_url

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def zarr_asset(demo: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    from hdmf_zarr.nwb import NWBZarrIO

    from neurodatashare.testing import nwbfiles
    from neurodatashare.testing.factories import Caller

    nwb = nwbfiles.make_nwbfile(identifier="nds-e2e-zarr")
    nwbfiles.add_ecephys(nwb, n_channels=4, duration_s=2.0, rate=1000.0, compression=None)
    nwbfiles.add_units(nwb, n_units=3, duration_s=2.0)
    root = tmp_path_factory.mktemp("nwbzarr") / "e.nwb.zarr"
    with NWBZarrIO(str(root), mode="w") as io:
        io.write(nwb)
    files = {
        p.relative_to(root).as_posix(): p.read_bytes() for p in Path(root).rglob("*") if p.is_file()
    }
    caller = Caller(demo.url, demo.key)
    try:
        ds = caller.create_dataset("nwb-zarr e2e")
        asset = caller.add_zarr(ds, "sub-z/sub-z_ecephys.nwb.zarr", files)
        caller.wait_for_checks(asset["asset_id"])
    finally:
        caller.close()
    return str(asset["asset_id"])


def test_nwb_zarr_tree_and_traces(demo: DemoServer, page: Page, zarr_asset: str) -> None:
    page.goto(page_url(demo, zarr_asset, EPHYS, t0=0, t1=1))
    page.wait("() => document.getElementById('explorer').dataset.state === 'ready'")
    assert page.page.locator("[role=treeitem]").count() > 5
    page.wait(PLOT_READY, ".traces-plot")
    page.assert_no_errors()
