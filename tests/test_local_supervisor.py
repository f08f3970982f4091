"""`deploy/local/services.sh` (what `make run` and `make stop` use) supervises the real processes of its services.

Each test runs the script on a run directory of its own with a throwaway service list: a tiny HTTP service (it
answers `/readyz` like a real one) and a worker without HTTP, both started by supervisord as `make run` starts the
real ones. The assertions are about processes and ports, read from the kernel, not from the script's own words.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from civicloop_testing.processes import free_port

SERVICES_SH = Path(__file__).resolve().parents[1] / "deploy" / "local" / "services.sh"

HTTP_SERVICE = """
import http.server, sys

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path in ("/readyz", "/healthz") else 404)
        self.end_headers()

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

WORKER = """
import signal, sys, threading

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
sys.exit(0)
"""


class Supervised:
    def __init__(self, run_dir: Path, port: int) -> None:
        self.run_dir = run_dir
        self.port = port

    def script(
        self, *args: str, start_seconds: int = 1, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.update(
            CIVICLOOP_RUN_DIR=str(self.run_dir),
            CIVICLOOP_SERVICES_LIST=str(self.run_dir / "services.list"),
            CIVICLOOP_SERVICE_START_SECONDS=str(start_seconds),
            CIVICLOOP_SERVICE_STOP_SECONDS="5",
            CIVICLOOP_LOCAL_PROVIDERS="0",  # the provider stand-ins have tests of their own (test_local_providers)
            CIVICLOOP_SERVICE_READY_SECONDS="20",
        )
        return subprocess.run(
            ["bash", str(SERVICES_SH), *args], env=env, capture_output=True, text=True, timeout=timeout
        )

    def pid(self, name: str) -> int:
        out = self.script("ctl", "pid", name)
        return int(out.stdout.strip() or 0)

    def supervisor_pid(self) -> int:
        return int((self.run_dir / "supervisord.pid").read_text().strip())


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def listener_pid(port: int) -> int | None:
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    for part in out.split("pid=")[1:]:
        return int(part.split(",", 1)[0])
    return None


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def eventually(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        time.sleep(0.1)


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Supervised]:
    port = free_port()
    (tmp_path / "web.py").write_text(HTTP_SERVICE)
    (tmp_path / "worker.py").write_text(WORKER)
    (tmp_path / "services.list").write_text(
        f"web|{port}|{sys.executable} {tmp_path / 'web.py'} {port}\n"
        f"worker|-|{sys.executable} {tmp_path / 'worker.py'}\n"
    )
    services = Supervised(tmp_path, port)
    try:
        yield services
    finally:
        # Whatever a failed assertion left behind: stop it, and kill it if that is not enough.
        services.script("stop")
        pid_file = tmp_path / "supervisord.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_start_runs_the_services_own_processes_restarts_a_killed_one_and_stop_leaves_nothing(
    supervised: Supervised,
) -> None:
    started = supervised.script("start")
    assert started.returncode == 0, started.stderr
    web, worker, supervisor = supervised.pid("web"), supervised.pid("worker"), supervised.supervisor_pid()
    assert listener_pid(supervised.port) == web  # the pid tracked is the process serving the port
    assert "worker.py" in Path(f"/proc/{worker}/cmdline").read_text()
    assert Path(f"/proc/{web}/stat").read_text().split(") ", 1)[1].split()[1] == str(supervisor)  # its parent

    os.kill(web, signal.SIGKILL)
    eventually(lambda: supervised.pid("web") not in (0, web), 20, "a new web process after a SIGKILL")
    restarted = supervised.pid("web")
    eventually(
        lambda: listener_pid(supervised.port) == restarted, 20, "the restarted process serving the port"
    )
    os.kill(worker, signal.SIGKILL)
    eventually(lambda: supervised.pid("worker") not in (0, worker), 20, "a new worker after a SIGKILL")
    worker = supervised.pid("worker")

    # supervisord reports a restarted process STARTING until it has stayed up its start seconds.
    expected = (f"web: ready on :{supervised.port} (pid {restarted})", f"worker: RUNNING (pid {worker})")
    eventually(
        lambda: all(line in supervised.script("status").stdout for line in expected), 20, "status: both up"
    )

    stopped = supervised.script("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not any(alive(pid) for pid in (restarted, worker, supervisor))
    assert not listening(supervised.port)
    assert supervised.script("status").stdout.strip() == "supervisord: down"


def test_a_second_start_starts_no_second_copy_and_only_what_the_list_adds(supervised: Supervised) -> None:
    service_list = supervised.run_dir / "services.list"
    with_worker = service_list.read_text()
    service_list.write_text(with_worker.splitlines()[0] + "\n")
    assert supervised.script("start").returncode == 0
    web = supervised.pid("web")

    again = supervised.script("start")

    assert again.returncode == 0, again.stderr
    assert supervised.pid("web") == web
    assert listener_pid(supervised.port) == web
    service_list.write_text(with_worker)

    with_the_worker = supervised.script("start")

    assert with_the_worker.returncode == 0, with_the_worker.stderr
    assert supervised.pid("web") == web
    assert alive(supervised.pid("worker"))


def test_start_refuses_when_a_process_it_did_not_start_answers_on_the_port(supervised: Supervised) -> None:
    # A stray copy of the service (say, one left running by hand) answers /readyz on the port: the copy started
    # now could not bind, and must not be reported as started on the stray one's behalf.
    stray = subprocess.Popen([sys.executable, str(supervised.run_dir / "web.py"), str(supervised.port)])
    try:
        eventually(lambda: listening(supervised.port), 10, "the stray copy listening")

        started = supervised.script("start")

        assert started.returncode != 0
        assert f"port {supervised.port} is taken by pid {stray.pid}" in started.stderr
        assert not (supervised.run_dir / "supervisord.pid").exists()
        assert listener_pid(supervised.port) == stray.pid
    finally:
        stray.terminate()
        stray.wait(10)


def test_start_fails_for_a_service_that_cannot_stay_up(supervised: Supervised) -> None:
    (supervised.run_dir / "services.list").write_text(f"broken|-|{sys.executable} -c 'raise SystemExit(3)'\n")

    # Long enough that even a slow interpreter start on a busy machine exits before it counts as started.
    started = supervised.script("start", start_seconds=4)

    assert started.returncode != 0
    assert "broken: not running (supervisor state FATAL)" in started.stderr
