"""The conversion wizard in Chromium, on a server of its own with NDS_CONVERT_ROOTS set:
a lab folder of 2 subjects x 2 sessions, each an Open Ephys binary recording with its
Kilosort/Phy sorting. A signed-in user picks the two formats, browses to a session,
turns its path into a pattern and expands it, fills in the metadata (a wrong species is
shown beside its field, then fixed), previews, converts every session, reads the
validation reports, adds the files to a dataset and opens one in the explorer (a preview
opens there too, before anything is uploaded). Every
file must pass the archive's validation without ERROR or CRITICAL. The time from the
click on "Convert" to the explorer showing an uploaded file is printed."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from neurodatashare.testing import sources
from neurodatashare.testing.factories import Caller
from neurodatashare.testing.server import ServerHandle, nds_executable, run_server

from .conftest import Page

pytestmark = pytest.mark.slow
PASSWORD = "convert-page-password"
# an API answer read with the page's login session
FETCH = "async (url) => (await fetch(url, {credentials: 'same-origin'})).json()"
SESSIONS = [("mouseA", "day1"), ("mouseA", "day2"), ("mouseB", "day1"), ("mouseB", "day2")]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lab/<subject>/<session>/{<date>/Record Node 101/..., phy/}: Open Ephys + Phy."""
    root = Path(os.path.realpath(tmp_path_factory.mktemp("convert-lab"))) / "lab"
    for seed, (subject, session) in enumerate(SESSIONS):
        folder = root / subject / session
        sources.write_openephys_binary(folder, duration_s=2.0, n_channels=16, seed=seed)
        sources.write_phy(folder / "phy", duration_s=2.0, n_channels=16, n_units=4, seed=seed)
    return root


@pytest.fixture(scope="module")
def server(lab: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    home = tmp_path_factory.mktemp("convert-home")
    with run_server(home, env={"NDS_CONVERT_ROOTS": str(lab)}) as handle:
        yield handle


@pytest.fixture(scope="module")
def user(server: ServerHandle) -> tuple[str, str]:
    """A user with a web password and a private dataset of theirs: (username, dataset id)."""
    username = f"converter-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(
        [str(nds_executable()), "admin", "create-user", username, "--password"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    caller = Caller(server.url, made.stdout.strip().splitlines()[-1])
    try:
        ident = caller.create_dataset("Private lab data", access="private")
    finally:
        caller.close()
    return username, ident


def _log_in(page: Page, server: ServerHandle, username: str, target: str) -> None:
    page.goto(f"{server.url}/login?next={target}")
    page.page.fill("input[name=username]", username)
    page.page.fill("input[name=password]", PASSWORD)
    with page.page.expect_navigation():
        page.page.click("form[action='/login'] button[type=submit]")
    assert page.page.url.endswith(target), (page.page.url, page.page.content()[-1500:])


def test_formats_pattern_metadata_preview_convert_upload_explore(
    server: ServerHandle, lab: Path, user: tuple[str, str], page: Page
) -> None:
    username, dataset = user
    _log_in(page, server, username, "/")
    p = page.page
    with p.expect_navigation():  # the wait below must read the new page, not the old one
        p.click("header a[href='/convert']")
    page.wait("() => document.body?.dataset.convertReady === '1'", timeout=60_000)

    # 1. formats: search, see what is installed, pick the recording and the sorting
    p.fill("#format-search", "open ephys recording")
    assert p.locator("[data-format=OpenEphysRecording]").count() == 1
    assert "installed" in p.locator("[data-format=OpenEphysRecording]").inner_text()
    p.check("[data-format=OpenEphysRecording] input")
    p.fill("#format-search", "phy")
    p.check("[data-format=PhySorting] input")
    assert p.locator("#chosen").inner_text() == "OpenEphysRecording, PhySorting"

    # 2. browse to one session, then make its path a pattern and expand it
    recording = "[data-stream=OpenEphysRecording]"
    p.click(f"{recording} button.browse")
    p.click(f"#browse-entries button[data-path='{lab / 'mouseA'}']")
    p.click(f"#browse-entries button[data-path='{lab / 'mouseA' / 'day1'}']")
    page.wait_text("#browse-path", "mouseA/day1$")
    p.click("#browse-use")
    assert p.input_value(f"{recording} input[name=folder_path]") == "mouseA/day1"
    p.fill(f"{recording} input[name=folder_path]", "{subject_id}/{session_id}")
    p.fill("[data-stream=PhySorting] input[name=folder_path]", "{subject_id}/{session_id}/phy")
    p.click("#find-sessions")
    page.wait_text("#sessions-status", "4 session")
    rows = p.locator("#sessions tbody tr")
    found = [
        (
            rows.nth(i).locator("input[name=subject_id]").input_value(),
            rows.nth(i).locator("input[name=session_id]").input_value(),
        )
        for i in range(rows.count())
    ]
    assert found == SESSIONS
    for i in range(4):  # the ids are editable: the lab writes them with a prefix
        cell = rows.nth(i).locator("input[name=session_id]")
        cell.fill(f"s{cell.input_value()}")

    # 3. the metadata form from NeuroConv's schema, prefilled from the files
    p.click("#load-metadata")
    page.wait_text("#metadata-status", "Check the fields", timeout=60_000)
    assert p.input_value("[name='NWBFile.session_start_time']").startswith("2024-03-04T10:15:00")
    # the ids come from the table, the file identifier is new for each file: not asked
    for own in ("Subject.subject_id", "NWBFile.session_id", "NWBFile.identifier"):
        assert p.locator(f"[name='{own}']").count() == 0, own
    p.fill("[name='Subject.species']", "unicorn")
    p.select_option("select[name='Subject.sex']", "F")
    p.fill("[name='Subject.age']", "P90D")
    p.fill("[name='NWBFile.session_description']", "Head-fixed recording in VISp")
    p.fill("[name='NWBFile.experimenter']", "Doe, Jane")
    p.fill("[name='NWBFile.lab']", "Test lab")
    p.fill("[name='NWBFile.institution']", "Test institute")
    p.fill("[name='NWBFile.timezone']", "Europe/Berlin")
    # the probe and the region, as in nds convert's YAML (NeuroConv's own shape is keyed maps)
    p.fill("[name='hardware.ecephys.device_name']", "Probe A")
    p.fill("[name='hardware.ecephys.manufacturer']", "Cambridge NeuroTech")
    p.fill("[name='hardware.ecephys.location']", "VISp")
    assert p.locator("[name='hardware.ophys.location']").count() == 0  # no imaging chosen

    # 4. preview: the wrong species comes back beside its field; fixed, all four pass
    p.click("#preview")
    page.wait_text("#preview-status", "of 4 file", timeout=120_000)
    problem = p.locator("#field-Subject\\.species .problem").inner_text()
    assert "unicorn" in problem, problem
    p.fill("[name='Subject.species']", "mouse")
    p.click("#preview")
    page.wait_text("#preview-status", "4 of 4 file\\(s\\) ready", timeout=180_000)
    assert p.locator("#field-Subject\\.species .problem").count() == 0
    reports = p.locator("#preview-results .report").all_inner_texts()
    assert len(reports) == 4 and all("ready to upload" in r for r in reports), reports
    assert "sub-mouseA_ses-sday1.nwb" in reports[0]
    page.shot("convert-preview", full=True)
    # a preview opens in the explorer (a tab of its own) before anything is uploaded
    with p.expect_popup() as popup:
        p.locator("#preview-results a.explore-link").first.click()
    preview = popup.value
    preview.wait_for_function(
        "() => document.getElementById('explorer')?.dataset.state === 'ready'", timeout=120_000
    )
    shown = preview.locator("#explorer").inner_text()
    assert "sub-mouseA_ses-sday1.nwb" in shown and "not uploaded" in shown, shown[:500]
    assert "units" in shown and "ElectricalSeries" in shown, shown[:2000]
    assert "VISp" in shown and "Probe A" in shown and "unknown" not in shown, shown[:2000]
    preview.close()

    # 5. convert every session, read the reports, add the files, open one in the explorer
    # the user's private dataset is offered; a new one is made from the page and chosen
    options = p.locator("#dataset option").all_inner_texts()
    assert any(o.startswith(dataset) for o in options), options
    p.fill("#new-dataset", "Converted in the browser")
    p.click("#create-dataset")
    page.wait_text("#dataset-status", "Created dataset")
    dataset = p.input_value("#dataset")
    assert dataset and dataset != user[1]
    started = time.monotonic()
    p.click("#convert")
    page.wait_text("#convert-status", "4 of 4 file\\(s\\) ready", timeout=300_000)
    jobs = p.locator("#convert-results .job")
    assert [jobs.nth(i).get_attribute("data-state") for i in range(4)] == ["done"] * 4
    for text in jobs.all_inner_texts():
        assert "ready to upload" in text and "ERROR" not in text and "CRITICAL" not in text
    p.click("#upload")
    page.wait("() => document.body?.dataset.uploaded === '4'", timeout=120_000)
    links = p.locator("#convert-results a.asset-link")
    assert sorted(links.all_inner_texts()) == [
        f"sub-{subject}/sub-{subject}_ses-s{session}.nwb" for subject, session in SESSIONS
    ]
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(4)]
    page.shot("convert-done", full=True)
    links.first.click()
    page.wait(
        "() => document.getElementById('explorer')?.dataset.state === 'ready'", timeout=120_000
    )
    explorable = time.monotonic() - started
    tree = p.locator("#explorer").inner_text()
    assert "units" in tree and "ElectricalSeries" in tree, tree[:2000]

    # the archive's own checks of the uploaded files (read with the page's session)
    for href in hrefs:
        asset_id = href.rsplit("/", 1)[-1]
        report = page.js(FETCH, f"/api/assets/{asset_id}/validation/")
        deadline = time.monotonic() + 120
        while report["status"] == "pending" and time.monotonic() < deadline:
            time.sleep(0.3)
            report = page.js(FETCH, f"/api/assets/{asset_id}/validation/")
        blocking = [f for f in report["results"] if f["severity"] in ("ERROR", "CRITICAL")]
        assert report["status"] == "done" and not blocking, (href, report["status"], blocking)
    checked = time.monotonic() - started
    print(
        f"\nconvert wizard, 2 subjects x 2 sessions (Open Ephys 16 ch x 2 s + Phy): "
        f"click 'Convert' -> first file uploaded and open in the explorer {explorable:.1f} s; "
        f"all four checked by the archive {checked:.1f} s"
    )
    page.assert_no_errors()


def test_one_folder_without_a_pattern_is_one_session(
    server: ServerHandle, lab: Path, user: tuple[str, str], page: Page
) -> None:
    """A path without placeholders is one session, whose ids the user must give."""
    username, _ = user
    _log_in(page, server, username, "/convert")
    p = page.page
    page.wait("() => document.body?.dataset.convertReady === '1'", timeout=60_000)
    p.fill("#format-search", "phy sorting")
    p.check("[data-format=PhySorting] input")
    p.click("[data-stream=PhySorting] button.browse")
    for part in ("mouseB", "day2", "phy"):
        p.click(f"#browse-entries button[data-path$='/{part}']")
    page.wait_text("#browse-path", "mouseB/day2/phy$")
    p.click("#browse-use")
    assert p.input_value("[data-stream=PhySorting] input[name=folder_path]") == "mouseB/day2/phy"
    p.click("#find-sessions")
    page.wait_text("#sessions-status", "^1 session")
    row = p.locator("#sessions tbody tr")
    assert str(lab / "mouseB/day2/phy") in row.inner_text()
    p.click("#load-metadata")
    page.wait_text("#metadata-status", "Check the fields", timeout=60_000)
    p.click("#preview")
    page.wait_text("#preview-status", "Give every session a subject and a session id")
    row.locator("input[name=subject_id]").fill("mouseB")
    row.locator("input[name=session_id]").fill("day2")
    for name, value in [
        ("Subject.species", "Mus musculus"),
        ("Subject.age", "90 days"),
        ("NWBFile.session_description", "Sorted units only"),
        ("NWBFile.session_start_time", "2024-03-05T09:00:00+01:00"),
    ]:
        p.fill(f"[name='{name}']", value)
    p.select_option("select[name='Subject.sex']", "M")
    p.click("#preview")
    page.wait_text("#preview-status", "1 of 1 file\\(s\\) ready", timeout=120_000)
    assert "sub-mouseB_ses-day2.nwb" in p.locator("#preview-results .report").inner_text()
    page.assert_no_errors()
