"""`nds login/ls/upload/download/rm/publish` against a real server, as a user runs them."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from neurodatashare.cli.main import cli
from neurodatashare.client import config, http
from neurodatashare.client.engine import drain
from neurodatashare.client.remote import Client
from neurodatashare.client.upload import Uploader, collect_uploads
from neurodatashare.testing.factories import Caller
from neurodatashare.testing.live import Live, free_port
from test_client import MiB, flaky


@pytest.fixture(autouse=True)
def isolated_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.delenv(config.ENV_URL, raising=False)
    monkeypatch.delenv(config.ENV_KEY, raising=False)
    monkeypatch.setattr(http, "DEFAULT_BACKOFF", 0.01)
    monkeypatch.setenv(http.ENV_RETRY_SECONDS, "3")  # a lost network is given up soon


def nds(
    args: list[str],
    caller: Caller | None = None,
    url: str = "",
    env: dict[str, str] | None = None,
    **kw: Any,
) -> Result:
    env = dict(env or {})
    if url:
        env["NDS_URL"] = url
    if caller is not None and caller.key:
        env["NDS_API_KEY"] = caller.key
    result = CliRunner().invoke(cli, args, env=env, **kw)
    assert "Traceback" not in result.output, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_login_saves_a_private_file_and_refuses_wrong_keys_and_urls(live: Live) -> None:
    alice = live.user("alice")
    path = config.config_path()
    r = nds(["login", live.url, "--key", "0" * 40])
    assert r.exit_code == 3 and "refused this API key" in r.stderr and not path.exists()
    r = nds(["login", f"http://127.0.0.1:{free_port()}", "--key", str(alice.key)])
    assert r.exit_code == 4 and "Cannot connect" in r.stderr and not path.exists()
    r = nds(["login", f"{live.url}/elsewhere", "--key", str(alice.key)])
    assert r.exit_code == 2 and "does not look like" in r.stderr and not path.exists()
    # the key is asked for (hidden) when not given
    r = nds(["login", live.url], input=f"{alice.key}\n")
    assert r.exit_code == 0, r.output
    assert "as alice" in r.stdout and str(alice.key) not in r.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"url": live.url, "api_key": alice.key}
    # later commands use it; the environment overrides it
    assert nds(["ls", "--json"]).exit_code == 0
    bad = nds(["ls"], env={"NDS_API_KEY": "0" * 40})
    assert bad.exit_code == 3
    r = nds(["login", live.url, "--key", str(alice.key), "--json"])
    assert json.loads(r.stdout)["username"] == "alice"


def test_errors_have_one_message_and_an_exit_code(live: Live, tmp_path: Path) -> None:
    alice, bob = live.user("alice"), live.user("bob")
    secret = alice.create_dataset("secret", access="private")
    r = nds(["ls"])
    assert r.exit_code == 1 and "nds login" in r.stderr
    r = nds(["ls", "999999"], alice, live.url)
    assert r.exit_code == 2 and "Dataset 999999 was not found" in r.stderr
    r = nds(["ls", secret, "--json"], bob, live.url)
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["exit_code"] == 2
    r = nds(["ls", secret], live.anonymous(), live.url)
    assert r.exit_code == 3 and "API key" in r.stderr
    r = nds(["ls"], Caller(live.url, "f" * 40), live.url)
    assert r.exit_code == 3
    r = nds(["upload", str(tmp_path)], alice, live.url)
    assert r.exit_code == 1 and "--dataset" in r.stderr
    r = nds(["download", f"{secret}/nothing.nwb"], alice, live.url)
    assert r.exit_code == 2 and "nothing.nwb" in r.stderr
    r = nds(["ls", "not-a-dataset"], alice, live.url)
    assert r.exit_code == 1 and "not a dataset id" in r.stderr
    empty = alice.create_dataset("empty", metadata={})
    r = nds(["publish", empty], alice, live.url)
    assert r.exit_code == 1 and "cannot be published" in r.stderr


def test_upload_ls_download_rm_publish(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("cli")
    src = tmp_path / "src"
    for rel, text in {
        "sub-1/a.txt": "a" * 100,
        "sub-1/b.txt": "b" * 200,
        "sub-2/c.txt": "c" * 300,
        "README.txt": "read me",
    }.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)

    def run(*args: str, **kw: Any) -> Result:
        return nds(list(args), alice, live.url, **kw)

    r = run("upload", str(src), "--dataset", ds, "--json", "-j", "2")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {f["path"]: f["status"] for f in out["files"]} == {
        "README.txt": "uploaded",
        "sub-1/a.txt": "uploaded",
        "sub-1/b.txt": "uploaded",
        "sub-2/c.txt": "uploaded",
    }
    r = run("upload", str(src), "--dataset", ds)
    lines = r.stdout.splitlines()
    assert r.exit_code == 0 and sum(x.startswith("skipped ") for x in lines) == 4
    assert lines[-1] == "Upload: 4 skipped (0 B transferred)."

    listed = json.loads(run("ls", "--json").stdout)
    assert [(d["identifier"], d["files"]) for d in listed] == [(ds, 4)]
    plain = run("ls").stdout  # the draft's status, as the user guide says
    assert ds in plain and f"  {listed[0]['status']} " in plain and listed[0]["status"]
    top = run("ls", ds).stdout
    assert "sub-1/" in top and "(2 files)" in top and "README.txt" in top
    folder = json.loads(run("ls", f"{ds}/sub-1/", "--json").stdout)
    assert [e["path"] for e in folder] == ["sub-1/a.txt", "sub-1/b.txt"]
    every = json.loads(run("ls", ds, "-r", "--json").stdout)
    assert len(every) == 4 and every[0]["path"] == "README.txt"

    out_dir = tmp_path / "out"
    r = run("download", ds, "-o", str(out_dir), "--json")
    assert r.exit_code == 0, r.output
    assert (out_dir / ds / "sub-2" / "c.txt").read_text() == "c" * 300
    assert {
        f["status"]
        for f in json.loads(run("download", ds, "-o", str(out_dir), "--json").stdout)["files"]
    } == {"skipped"}
    assert run("download", f"{ds}/sub-1/", "-o", str(tmp_path / "f")).exit_code == 0
    assert (tmp_path / "f" / "sub-1" / "b.txt").read_text() == "b" * 200
    assert run("download", f"{ds}/README.txt", "-o", str(tmp_path / "one")).exit_code == 0
    assert (tmp_path / "one" / "README.txt").read_text() == "read me"

    r = run("rm", f"{ds}/sub-2", "--yes")
    assert r.exit_code == 1 and "is a folder" in r.stderr
    r = run("rm", f"{ds}/sub-2/", input="n\n")
    assert r.exit_code == 1 and "sub-2/c.txt" in r.stderr
    r = run("rm", f"{ds}/sub-2/", f"{ds}/README.txt", input="y\n")
    assert r.exit_code == 0 and "Removed 2 file(s)" in r.stdout
    assert [e["path"] for e in json.loads(run("ls", ds, "-r", "--json").stdout)] == [
        "sub-1/a.txt",
        "sub-1/b.txt",
    ]

    r = run("publish", ds, "--wait", "--json")
    assert r.exit_code == 0, r.output
    version = json.loads(r.stdout)["version"]
    r = run("ls", f"{ds}@{version}/sub-1/", "--json")
    assert [e["path"] for e in json.loads(r.stdout)] == ["sub-1/a.txt", "sub-1/b.txt"]
    r = run("publish", ds)
    assert r.exit_code == 1 and "Nothing changed" in r.stderr


def test_publish_explains_files_with_errors(live: Live) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("bad")
    alice.add_file(ds, "sub-1/broken.nwb", b"this is not HDF5")
    r = nds(["publish", ds, "--wait"], alice, live.url)
    assert r.exit_code == 1, r.output
    assert "sub-1/broken.nwb" in r.stderr and "Draft status: Invalid" in r.stderr


@pytest.mark.local_store("cuts a proxy in front of the API, which the bytes do not cross with S3")
def test_download_failures_leave_no_file(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    ds = alice.create_dataset("dl")
    data = random.Random(5).randbytes(3 * MiB)
    alice.add_file(ds, "rec.bin", data)
    out = tmp_path / "out"
    out.mkdir()
    # a corrupt partial: verification fails, exit 5, nothing left behind
    (out / "rec.bin.ndspart").write_bytes(b"\1" * MiB)
    r = nds(["download", f"{ds}/rec.bin", "-o", str(out)], alice, live.url)
    assert r.exit_code == 5 and "do not match" in r.stderr
    assert not list(out.iterdir())
    # the network goes away mid-download: exit 4, a clear message, no final file
    with flaky(live, refuse_after_cut=True) as proxy:
        r = nds(["download", f"{ds}/rec.bin", "-o", str(out)], alice, proxy.url)
    assert r.exit_code == 4, r.output
    assert "Run the same command again to resume" in r.stderr
    assert [p.name for p in out.iterdir()] == ["rec.bin.ndspart"]
    # and again with the network back: it resumes and finishes
    r = nds(["download", f"{ds}/rec.bin", "-o", str(out), "--json"], alice, live.url)
    assert r.exit_code == 0 and json.loads(r.stdout)["files"][0]["status"] == "resumed"
    assert (out / "rec.bin").read_bytes() == data


@pytest.mark.local_store("watches part PUTs to the archive's /parts/ route (S3: to the bucket)")
def test_upload_resumes_after_the_process_is_killed(live: Live, tmp_path: Path) -> None:
    """SIGKILL `nds upload` once a part is recorded; the rerun sends only what is missing."""
    alice = live.user("alice")
    ds = alice.create_dataset("killed")
    big = tmp_path / "big.bin"
    big.write_bytes(random.Random(11).randbytes(2 * 64 * MiB + MiB))  # three parts
    env = {**os.environ, "NDS_URL": live.url, "NDS_API_KEY": str(alice.key)}
    nds_bin = str(Path(sys.executable).with_name("nds"))
    proc = subprocess.Popen(
        [nds_bin, "upload", str(big), "--dataset", ds, "-j", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    uploads = config.state_dir() / "uploads"
    deadline = time.monotonic() + 60
    state: dict[str, Any] = {}
    while not state.get("done"):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "no part was recorded"
        for f in uploads.glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                state = json.loads(f.read_text())
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    [state_file] = uploads.glob("*.json")
    state = json.loads(state_file.read_text())
    done = set(state["done"])
    assert done and len(done) < 3

    sent: list[str] = []
    with Client(live.url, alice.key) as client:
        client.storage.event_hooks["request"].append(
            lambda r: (
                sent.append(str(r.url).split("/parts/")[1].split("/")[0])
                if r.method == "PUT"
                else None
            )
        )
        summary = drain(Uploader(client, ds, jobs=2).iter_upload(collect_uploads([big])))
        assert summary.done == {"big.bin": "resumed"}, summary.failed
        assert sorted(sent) == sorted({"1", "2", "3"} - done)
        assert client.dataset(ds).draft.asset("big.bin").size == big.stat().st_size
    assert not state_file.exists()


def test_create_makes_a_publishable_dataset(live: Live, tmp_path: Path) -> None:
    alice = live.user("alice")
    result = nds(
        [
            "create",
            "Place cells in CA1",
            "--description",
            "Two-photon imaging of CA1.",
            "--license",
            "CC-BY-4.0",
            "--contact",
            "Doe, Jane",
            "--email",
            "jane.doe@example.org",
            "--keyword",
            "hippocampus",
            "--private",
            "--json",
        ],
        alice,
        url=live.url,
    )
    assert result.exit_code == 0, result.output
    ident = json.loads(result.output)["identifier"]
    info = alice.get(f"/api/dandisets/{ident}/versions/draft/info/").json()
    assert info["status"] == "Valid" and info["version_validation_errors"] == []
    meta = info["metadata"]
    assert meta["license"] == ["spdx:CC-BY-4.0"] and meta["keywords"] == ["hippocampus"]
    assert alice.get(f"/api/dandisets/{ident}/").json()["access"] == "private"
    assert live.user("bob").get(f"/api/dandisets/{ident}/").status_code == 404
    bare = nds(["create", "Just a name"], alice, url=live.url)
    assert bare.exit_code == 0 and "Created dataset" in bare.output
    both = nds(["create", "x", "--private", "--embargo-until", "2099-01-01"], alice, url=live.url)
    assert both.exit_code != 0 and "not both" in both.output
    anonymous = nds(["create", "x"], url=live.url)
    assert anonymous.exit_code == 3
