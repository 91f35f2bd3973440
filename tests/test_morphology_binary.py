"""The 3D view's binary payload (formats/swc_binary.py): the JSON drawing's points and
sections as int16 and section arrays, decoded back within the quantisation step."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurodatashare.formats import swc_binary, swc_view
from neurodatashare.testing import scales


@pytest.mark.parametrize("points", [2000, 150_000])
def test_binary_body_holds_the_json_drawings_points(points: int) -> None:
    cell = swc_view.read_swc(scales.big_swc(points, seed=4), extension="swc")
    body = swc_binary.encode(cell)
    got = swc_binary.decode(body)
    drawing = json.loads(swc_view.drawing(cell))
    for field in ("source", "units", "points", "sections", "drawn_points", "decimated"):
        assert got[field] == drawing[field], field
    assert got["decimated"] is (points > swc_view.MAX_POINTS)
    assert got["max_order"] == drawing["max_order"] and got["bounds"] == drawing["bounds"]
    # per section the points drawn, in the JSON's order of sections within each kind
    lengths = np.diff(got["offsets"])
    assert int(lengths.sum()) == got["drawn_points"] == len(got["xyz"])
    basal = next(t for t in drawing["traces"] if t["type"] == "basal")
    mine = got["kind"] == swc_view.KIND_ORDER.index("basal")
    assert lengths[mine].tolist() == basal["lengths"]
    assert got["order"][mine].tolist() == basal["order"]
    # coordinates within one quantisation step (half / 32767) of the JSON's
    xyz = np.asarray(got["centre"]) + got["xyz"] / swc_binary.SCALE * got["half"]
    x = np.asarray([v for v in basal["x"] if v is not None])
    starts = got["offsets"][:-1][mine].astype(int)
    first = xyz[starts[0] : starts[0] + int(lengths[mine][0]), 0]
    assert np.abs(first - x[: len(first)]).max() <= got["half"] / swc_binary.SCALE + 1e-3
    assert len(body) < 8 * got["drawn_points"] + 20 * got["sections"] + 4096
    assert got["per_kind"] == {"soma": 1, "basal": got["sections"] - 1}


def test_a_body_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError):
        swc_binary.decode(b"{}")
