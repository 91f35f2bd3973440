"""docs/client.md's notebook example runs as written, on the demo's data."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from neurodatashare.testing.live import Live

DOC = Path(__file__).resolve().parent.parent / "docs" / "client.md"


def notebook_example() -> str:
    section = DOC.read_text().split("### In a notebook", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_notebook_example_runs_on_the_demo(
    live: Live, demo_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    alice = live.user("alice")
    ds = alice.create_dataset("demo")
    path = f"{demo_file.parent.name}/{demo_file.name}"  # as `nds demo` lays it out
    asset = alice.add_file(ds, path, demo_file.read_bytes())
    deadline = time.monotonic() + 120
    while alice.get(f"/api/assets/{asset['asset_id']}/lindi.json").status_code != 200:
        assert time.monotonic() < deadline, "the streaming index was not built"
        time.sleep(0.2)
    code = notebook_example()
    assert code.count('"000001"') == 1
    code = code.replace('"000001"', f'"{ds}"')  # the only change: this server's dataset
    monkeypatch.setenv("NDS_URL", live.url)
    monkeypatch.setenv("NDS_API_KEY", alice.key or "")
    scope: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), scope)
    import matplotlib.pyplot as plt

    line = plt.gca().get_lines()[-1]
    volts = np.asarray(scope["volts"])
    assert len(line.get_xdata()) == len(volts) == 60_000  # two seconds at 30 kHz
    assert np.allclose(line.get_ydata(), volts * 1e6)
    assert np.std(volts) > 0 and re.search(r"ecephys", str(scope["asset"].path))
    plt.close("all")
