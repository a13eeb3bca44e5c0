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
import tempfile
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


def _postgres_binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@contextmanager
def postgres_server() -> Iterator[dict[str, str]]:
    """Debian's PostgreSQL in a throwaway data folder on 127.0.0.1; yields the DAGSTER_PG_* settings.

    PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user the Debian package
    creates, in a folder that user owns.
    """
    binaries = _postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)")
    as_user: list[str] = []
    data_root = Path(tempfile.mkdtemp(prefix="reverie-pg-"))
    if os.geteuid() == 0:
        try:
            import pwd

            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as")
        os.chown(data_root, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = data_root / "data"
    log = data_root / "postgres.log"
    init = subprocess.run(
        [*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "reverie", "--auth=trust", "-E", "UTF8"],
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        shutil.rmtree(data_root, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr[-300:]}")
    port = free_port()
    process = subprocess.Popen(
        [
            *as_user,
            str(binaries / "postgres"),
            "-D",
            str(data),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-k",
            str(data_root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    try:
        _wait_for_port(port, process, "postgres", log)
        import psycopg2

        for _ in range(50):  # the port opens a moment before connections are accepted
            try:
                connection = psycopg2.connect(host="127.0.0.1", port=port, user="reverie", dbname="postgres")
                break
            except psycopg2.OperationalError:
                time.sleep(0.2)
        else:
            pytest.skip("postgres never accepted a connection")
        connection.autocommit = True
        connection.cursor().execute("CREATE DATABASE dagster")
        connection.close()
        yield {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(port),
            "DAGSTER_PG_USER": "reverie",
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": "dagster",
        }
    finally:
        stop(process)
        shutil.rmtree(data_root, ignore_errors=True)
