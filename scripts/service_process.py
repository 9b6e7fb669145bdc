"""Run Oktopus the way `make run` does (initialize.py, then oktapi.serve) on a chosen data dir.

Shared by scripts/load.py and tests/api/test_crash.py: a real server process on loopback, with
its own environment so a developer's `.env` or MongoDB settings never leak into the run.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class ServiceProcess:
    """One Oktopus server on the embedded store in `data_dir`; restartable on the same data."""

    def __init__(
        self,
        data_dir: Path,
        *,
        admin_password: str,
        secret_key: str,
        settings: dict[str, str] | None = None,
    ) -> None:
        """`settings`: more OKTOPUS_* variables, e.g. {"OKTOPUS_FORWARDED_ALLOW_IPS": "127.0.0.1"}."""
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log_path = data_dir.parent / "server.log"
        self._environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("OKTOPUS_")},
            # Every setting explicit: a `.env` in the working directory must not redirect the run.
            "OKTOPUS_MONGO_URL": "",
            "OKTOPUS_DATA_DIR": str(data_dir),
            "OKTOPUS_SECRET_KEY": secret_key,
            "OKTOPUS_ADMIN_USERNAME": "admin",
            "OKTOPUS_ADMIN_PASSWORD": admin_password,
            "OKTOPUS_ACCESS_TOKEN_MINUTES": "60",
            "OKTOPUS_CORS_ORIGINS": "",
            "OKTOPUS_LOG_LEVEL": "WARNING",
            "OKTOPUS_FORWARDED_ALLOW_IPS": "",
            **(settings or {}),
        }
        self._process: subprocess.Popen | None = None

    def initialize(self) -> None:
        """`python initialize.py`, as the first half of `make run`."""
        subprocess.run(
            [sys.executable, "initialize.py"],
            cwd=ROOT,
            env=self._environment,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, *, ready_within: float = 60.0) -> None:
        """`python -m oktapi.serve --host --port`, as the second half; waits for /health."""
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "oktapi.serve", "--host", HOST, "--port", str(self.port)],
            cwd=ROOT,
            env=self._environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the server exited early; see {self.log_path}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"the server did not answer /health within {ready_within} s")

    @property
    def pid(self) -> int:
        """The server's process id (the uvicorn process itself), to read its memory."""
        if self._process is None:
            raise RuntimeError("the server is not running")
        return self._process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; what a crash or the OOM killer does."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)
        self._process = None

    def stop(self) -> None:
        """A graceful stop (SIGTERM), falling back to SIGKILL."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._process = None

    def __enter__(self) -> "ServiceProcess":
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
