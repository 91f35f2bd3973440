"""`nds admin` and `nds --help`, run as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

NDS = str(Path(sys.executable).with_name("nds"))


def run(args: list[str], home: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NDS_HOME": str(home)}
    env.pop("NDS_DATABASE_URL", None)
    return subprocess.run([NDS, *args], env=env, capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload]


def test_create_user_prints_key_last_and_stores_only_a_hash(tmp_path: Path) -> None:
    r = run(["admin", "create-user", "alice", "--email", "a@example.org"], tmp_path)
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip().splitlines()[-1]
    assert len(key) == 40 and all(c in "0123456789abcdef" for c in key)
    db = (tmp_path / "nds.sqlite3").read_bytes()
    assert key.encode() not in db
    again = run(["admin", "create-user", "alice"], tmp_path)
    assert again.returncode != 0 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    bad = run(["admin", "create-user", "no spaces allowed"], tmp_path)
    assert bad.returncode != 0 and "username" in bad.stderr.lower()
    key2 = run(["admin", "new-key", "alice"], tmp_path).stdout.strip().splitlines()[-1]
    assert len(key2) == 40 and key2 != key
    missing = run(["admin", "new-key", "bob"], tmp_path)
    assert missing.returncode != 0 and "no user named 'bob'" in missing.stderr


def test_set_password(tmp_path: Path) -> None:
    run(["admin", "create-user", "alice"], tmp_path)
    r = run(["admin", "set-password", "alice", "--password", "short"], tmp_path)
    assert r.returncode != 0 and "8 characters" in r.stderr
    r = run(["admin", "set-password", "alice", "--password", "long enough"], tmp_path)
    assert r.returncode == 0, r.stderr


def test_help_lists_every_command_quickly(tmp_path: Path) -> None:
    r = run(["--help"], tmp_path)
    assert r.returncode == 0
    for verb in ("serve", "admin", "validate", "convert", "demo"):
        assert verb in r.stdout
