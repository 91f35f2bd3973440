"""The archive as deployed, on one machine: PostgreSQL, SeaweedFS, two `nds serve`
processes behind nginx (round-robin) and two `nds worker` processes.

    with Stack(tmp_path / "stack") as stack:
        key = stack.create_user("jane")
        httpx.get(f"{stack.url}/api/info/")
        stack.kill_api(0)        # SIGKILL, as a crash would
        stack.restart_api(0)
        with stack.s3_stopped(): # SIGSTOP of weed: S3 hangs, then comes back
            ...

Everything is started in __enter__ and stopped in __exit__, on any exit (a failed start,
a failing test, Ctrl-C). Logs stay in the folder (api-N.log, worker-N.log, nginx-*.log,
weed.log); when something does not start, the tail
of its log is in the exception. nginx runs deploy/nginx.conf, the file operators use.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from neurodatashare.config import Settings
from neurodatashare.testing.live import PostgresDatabase
from neurodatashare.testing.seaweed import SeaweedHandle, run_seaweed
from neurodatashare.testing.server import (
    ServerHandle,
    create_user,
    free_port,
    nds_executable,
    server_env,
    wait_for_info,
)

START_TIMEOUT = 90.0
NGINX_TEMPLATE = Path(__file__).resolve().parents[3] / "deploy" / "nginx.conf"


def nginx_executable() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        raise RuntimeError(
            "nginx is not installed: the deployed-stack tests need it "
            "(Debian: apt-get install nginx-light; scripts/test installs it)."
        )
    return found


def render_nginx(template: str, *, listen: int, api_ports: list[int]) -> str:
    """deploy/nginx.conf with our ports: its upstream `server` lines and `listen` line."""
    upstream = re.search(r"upstream nds_api \{.*?\n\}", template, re.S)
    if upstream is None:
        raise RuntimeError("deploy/nginx.conf has no `upstream nds_api { ... }` block")
    block = upstream.group(0)
    lines = [ln for ln in block.splitlines() if not re.match(r"\s*server \S+:\d+", ln)]
    servers = [f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in api_ports]
    new_block = "\n".join([*lines[:-1], *servers, lines[-1]])
    text = template.replace(block, new_block)
    text, count = re.subn(r"\n(\s*)listen \d+;", rf"\n\1listen 127.0.0.1:{listen};", text)
    if count != 1:
        raise RuntimeError("deploy/nginx.conf should have exactly one `listen PORT;` line")
    return text


def nginx_main_conf(folder: Path, site: Path) -> str:
    """The process-level part that a distribution's /etc/nginx/nginx.conf would hold."""
    temp = folder / "nginx-temp"
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach our folder
    return (
        f"{user}worker_processes 1;\ndaemon off;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'nginx-error.log'} warn;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        f"  access_log {folder / 'nginx-access.log'};\n"
        f"  client_body_temp_path {temp / 'body'};\n  proxy_temp_path {temp / 'proxy'};\n"
        f"  fastcgi_temp_path {temp / 'fcgi'};\n  uwsgi_temp_path {temp / 'uwsgi'};\n"
        f"  scgi_temp_path {temp / 'scgi'};\n"
        f"  include {site};\n"
        "}\n"
    )


def tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


@dataclass
class WorkerProcess:
    """A running `nds worker`; ready once it has printed its start line."""

    env: dict[str, str]
    log_path: Path
    threads: int = 2
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in kill/stop
        self.process = subprocess.Popen(
            [str(nds_executable()), "worker", "--threads", str(self.threads)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                if re.search(rb"^worker \S+ running", f.read(), re.M):
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"nds worker did not start:\n{tail(self.log_path)}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _close_log(self) -> None:
        if self._log is not None and not self._log.closed:
            self._log.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(15)
        self._close_log()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # it may be frozen by a test
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
        self._close_log()


def _stop_api(handle: ServerHandle) -> None:
    if handle.process is not None:  # None: its start failed before the process existed
        handle.stop()


class Stack:
    """Start with `with Stack(folder) as stack:`; see the module docstring."""

    def __init__(
        self, folder: Path, *, apis: int = 2, workers: int = 2, env: Mapping[str, str] = {}
    ) -> None:
        self.folder = Path(folder)
        self.n_apis = apis
        self.n_workers = workers
        self.extra_env = dict(env)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret_key = secrets.token_urlsafe(32)
        self.apis: list[ServerHandle] = []
        self.workers: list[WorkerProcess] = []
        self.pg: PostgresDatabase | None = None
        self.s3: SeaweedHandle | None = None
        self.nginx: subprocess.Popen[bytes] | None = None
        self._exit = ExitStack()

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:  # KeyboardInterrupt included: leave nothing running
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pg = PostgresDatabase()
        self._exit.callback(self.pg.drop)
        self.s3 = self._exit.enter_context(run_seaweed(self.folder / "s3"))
        self._exit.callback(self._keep_s3_log)  # run_seaweed removes its folder
        self.home = self.folder / "home"
        self.home.mkdir(exist_ok=True)
        # every process gets the same settings; the API processes run no jobs
        self.env = server_env(
            self.home,
            port=0,
            database_url=self.pg.url,
            public_url=self.url,
            extra={
                "NDS_SECRET_KEY": self.secret_key,
                "NDS_BLOB_STORE": "s3",
                "NDS_WORKER_THREADS": "0",
                **{f"NDS_{k.upper()}": str(v) for k, v in self.s3.settings().items()},
                **self.extra_env,
            },
        )
        for n in range(self.n_apis):
            port = free_port()
            env = {**self.env, "NDS_PORT": str(port)}
            handle = ServerHandle(
                url=self.url,
                api_url=f"{self.url}/api",
                port=port,
                home=self.home,
                process=None,  # type: ignore[arg-type]  # set by _start
                env=env,
                log_path=self.folder / f"api-{n}.log",
            )
            # registered first: stopped even if its start fails half way
            self._exit.callback(_stop_api, handle)
            handle._start()
            self.apis.append(handle)
        for n in range(self.n_workers):
            worker = WorkerProcess(env=self.env, log_path=self.folder / f"worker-{n}.log")
            self._exit.callback(worker.stop)
            worker.start()
            self.workers.append(worker)
        self._start_nginx()

    def _start_nginx(self) -> None:
        for sub in ("body", "proxy", "fcgi", "uwsgi", "scgi"):
            (self.folder / "nginx-temp" / sub).mkdir(parents=True, exist_ok=True)
        site = self.folder / "nginx-site.conf"
        site.write_text(
            render_nginx(
                NGINX_TEMPLATE.read_text(), listen=self.port, api_ports=[a.port for a in self.apis]
            )
        )
        main = self.folder / "nginx.conf"
        main.write_text(nginx_main_conf(self.folder, site))
        log = open(self.folder / "nginx-stdout.log", "ab")  # noqa: SIM115 - closed below
        self.nginx = subprocess.Popen(
            [nginx_executable(), "-p", str(self.folder), "-c", str(main), "-e", "stderr"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._exit.callback(self._stop_nginx)
        try:
            self.wait_healthy(timeout=30)
        except RuntimeError as exc:
            raise RuntimeError(
                f"{exc}\nnginx output:\n{tail(self.folder / 'nginx-stdout.log')}\n"
                f"nginx error log:\n{tail(self.folder / 'nginx-error.log')}"
            ) from None

    def _stop_nginx(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            os.killpg(self.nginx.pid, signal.SIGTERM)  # master and its worker
            try:
                self.nginx.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.nginx.pid, signal.SIGKILL)
                self.nginx.wait(15)

    def _keep_s3_log(self) -> None:
        if self.s3 is not None:
            shutil.copy(self.s3.folder / "weed.log", self.folder / "weed.log")

    def close(self) -> None:
        if self.s3 is not None and self.s3.process.poll() is None:
            os.killpg(self.s3.process.pid, signal.SIGCONT)  # a test may have frozen it
        self._exit.close()

    # -- health -------------------------------------------------------------------------
    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        """Until every API process answers /api/info/ through its own port and the proxy
        answers too."""
        deadline = time.monotonic() + timeout
        for api in self.apis:
            api.wait_ready(timeout=max(deadline - time.monotonic(), 1))

        def exited() -> str | None:
            if self.nginx is not None and self.nginx.poll() is not None:
                return f"nginx exited with {self.nginx.returncode}"
            return None

        last = wait_for_info(self.url, timeout=max(deadline - time.monotonic(), 1), exited=exited)
        if last is not None:
            raise RuntimeError(f"the proxy at {self.url} did not answer /api/info/: {last}")

    # -- faults -------------------------------------------------------------------------
    def kill_api(self, n: int) -> None:
        """SIGKILL API process `n`: its connections break, nginx sends new ones elsewhere."""
        self.apis[n].kill()

    def restart_api(self, n: int) -> None:
        self.apis[n].kill()
        self.apis[n]._start()

    def kill_worker(self, n: int) -> None:
        self.workers[n].kill()

    def restart_worker(self, n: int) -> None:
        self.workers[n].kill()
        self.workers[n].start()

    def stop_s3(self) -> None:
        """SIGSTOP SeaweedFS: it keeps its connections but answers nothing."""
        assert self.s3 is not None
        os.killpg(self.s3.process.pid, signal.SIGSTOP)

    def continue_s3(self) -> None:
        assert self.s3 is not None
        os.killpg(self.s3.process.pid, signal.SIGCONT)

    @contextmanager
    def s3_stopped(self) -> Iterator[None]:
        self.stop_s3()
        try:
            yield
        finally:
            self.continue_s3()

    # -- use ----------------------------------------------------------------------------
    def create_user(self, name: str, *, admin: bool = False) -> str:
        """An approved user made with `nds admin create-user`; returns its API key."""
        return create_user(self.apis[0], name, admin=admin)

    def logs(self, chars: int = 3000) -> str:
        """The tail of every process's log, for assertion messages."""
        names = [f"api-{n}.log" for n in range(self.n_apis)]
        names += [f"worker-{n}.log" for n in range(self.n_workers)]
        names += ["nginx-error.log"]
        return "\n".join(f"--- {n}\n{tail(self.folder / n, chars)}" for n in names)

    def description(self) -> dict[str, Any]:
        """What a test process needs to reach this stack (scripts/stack writes it)."""
        assert self.pg is not None and self.s3 is not None
        return {
            "url": self.url,
            "database_url": self.pg.url,
            "s3": self.s3.settings(),
            "secret_key": self.secret_key,
            "home": str(self.home),
            "folder": str(self.folder),
            "env": {k: v for k, v in self.env.items() if k.startswith("NDS_")},
            "api_logs": [str(a.log_path) for a in self.apis],
        }

    def write_description(self, path: Path) -> None:
        path.write_text(json.dumps(self.description(), indent=2))


STACK_VARIABLE = "NDS_TEST_STACK"  # scripts/stack sets it to the description's file


def stack_description() -> dict[str, Any] | None:
    """The running stack's description in stack mode (scripts/stack), else None."""
    path = os.environ.get(STACK_VARIABLE)
    return load_description(Path(path)) if path else None


def live_backends() -> list[str]:
    """The database backends the live fixtures run on: the stack has PostgreSQL only."""
    return ["postgresql"] if os.environ.get(STACK_VARIABLE) else ["sqlite", "postgresql"]


def load_description(path: Path) -> dict[str, Any]:
    description: dict[str, Any] = json.loads(path.read_text())
    return description


def empty_stack(description: Mapping[str, Any], *, home: Path) -> None:
    """Delete every row and object of the stack (as the `live` fixtures do between tests)."""
    from neurodatashare.archive import Archive
    from neurodatashare.testing.live import Live

    archive = Archive.open(stack_settings(description, home=home))
    try:
        Live(url=description["url"], archive=archive, backend="postgresql").reset()
    finally:
        archive.close()


class StackServer:
    """The stack, seen as `testing.server.ServerHandle` is (url, api_url, port, home, env,
    the log), for tests written against one `nds serve`. The log is what both API
    processes wrote since this object was made; `log_offset()` is a mark to pass to
    `log_since` (the logs' lengths are kept under it)."""

    def __init__(self, description: Mapping[str, Any]) -> None:
        self.url: str = description["url"]
        self.api_url = f"{self.url}/api"
        self.port = int(self.url.rsplit(":", 1)[1])
        self.home = Path(description["home"])
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NDS_")}
        self.env.update(description["env"])
        self.log_paths = [Path(p) for p in description["api_logs"]]
        self._marks: list[list[int]] = []
        self._start = self.log_offset()

    def _sizes(self) -> list[int]:
        return [p.stat().st_size if p.exists() else 0 for p in self.log_paths]

    def log_offset(self) -> int:
        self._marks.append(self._sizes())
        return len(self._marks) - 1

    def log_since(self, offset: int) -> str:
        parts = []
        for path, start in zip(self.log_paths, self._marks[offset], strict=True):
            with open(path, "rb") as f:
                f.seek(start)
                parts.append(f.read().decode(errors="replace"))
        return "".join(parts)

    def log_text(self) -> str:
        return self.log_since(self._start)


def stack_settings(description: Mapping[str, Any], *, home: Path, **overrides: Any) -> Settings:
    """Settings for an archive in a test process on the stack's database and bucket. It
    runs no jobs (the stack's workers do) and builds the stack's public URLs."""
    env = description["env"]
    values: dict[str, Any] = {
        "home": home,
        "database_url": description["database_url"],
        "blob_store": "s3",
        "secret_key": description["secret_key"],
        "public_url": description["url"],
        "worker_threads": 0,
        **description["s3"],
    }
    if "NDS_MAX_JSON_BYTES" in env:
        values["max_json_bytes"] = int(env["NDS_MAX_JSON_BYTES"])
    return Settings(**{**values, **overrides})


def main(argv: list[str]) -> int:
    """`python -m neurodatashare.testing.stack [pytest args]` (scripts/stack): start a
    stack, run pytest against it (NDS_TEST_STACK), stop the stack whatever happens."""
    import sys
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="nds-stack-"))
    started = time.monotonic()
    code = 1
    try:
        # the same limit the in-process fixtures give their servers (tests/conftest.py)
        with Stack(folder, env={"NDS_MAX_JSON_BYTES": str(64 * 1024)}) as stack:
            print(f"stack up in {time.monotonic() - started:.1f} s at {stack.url}", flush=True)
            description = folder / "stack.json"
            stack.write_description(description)
            env = {**os.environ, "NDS_TEST_STACK": str(description)}
            code = subprocess.run([sys.executable, "-m", "pytest", *argv], env=env).returncode
            if code not in (0, 5):
                print(f"stack logs (kept in {folder}):\n{stack.logs()}", flush=True)
    finally:
        print(f"stack run took {time.monotonic() - started:.1f} s", flush=True)
    if code == 0:
        shutil.rmtree(folder, ignore_errors=True)
    return code


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
