"""Real servers on 127.0.0.1 for the distributed tests, started and stopped by the tests themselves.

Each helper yields a running server or calls `pytest.skip` with the reason it could not start (missing
binary or package, port never opened), so a machine without Redis still runs the rest of the suite.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

STARTUP_SECONDS = 30


def die_with_parent() -> None:
    """In a child before exec (Linux): end it when the test process dies, even by SIGKILL, so a killed
    test run leaves no server behind."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.skip(f"{what} exited at start (code {process.returncode}): {log.read_text()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.skip(f"{what} did not open 127.0.0.1:{port} within {STARTUP_SECONDS} s")


def stop(process: subprocess.Popen) -> None:
    """Terminate one process we started, then kill it if it does not exit."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    env: dict[str, str]  # what a client process needs to reach the bucket

    @property
    def lake_url(self) -> str:
        return f"s3://{self.bucket}/lake"


@contextmanager
def moto_s3_server(log_dir: Path, bucket: str = "reverie-test") -> Iterator[S3Server]:
    """moto's S3-compatible server (PyPI `moto[server]`) with one empty bucket."""
    try:
        import boto3
        import moto.server  # noqa: F401
    except ImportError as missing:
        pytest.skip(f"moto[server] is not installed ({missing.name}); `make install` installs it")
    port = free_port()
    log = log_dir / "moto.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=out,
            preexec_fn=die_with_parent,
        )
    try:
        _wait_for_port(port, process, "moto server", log)
        endpoint = f"http://127.0.0.1:{port}"
        env = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "reverie-test",
            "AWS_SECRET_ACCESS_KEY": "reverie-test",
            "AWS_REGION": "us-east-1",
        }
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="reverie-test",
            aws_secret_access_key="reverie-test",
        ).create_bucket(Bucket=bucket)
        yield S3Server(endpoint, bucket, env)
    finally:
        stop(process)


@contextmanager
def redis_server(log_dir: Path) -> Iterator[str]:
    """Debian's `redis-server`, in memory only; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
    port = free_port()
    log = log_dir / "redis.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(log_dir),
            ],
            stdout=out,
            stderr=out,
            preexec_fn=die_with_parent,
        )
    try:
        _wait_for_port(port, process, "redis-server", log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


def environment(**extra: str) -> dict[str, str]:
    """This process's environment plus `extra`, for worker processes."""
    return {**os.environ, **extra}
