"""Fixtures for backup tests: a real S3 API (moto's server) in a subprocess.

moto's server runs on 127.0.0.1 with a port the OS picks (`-p 0`); we read the
port from its "Running on" line and wait until it answers.  Dummy credentials
are put in the environment only while the fixture is alive, and the user's AWS
profile, config files and instance metadata are hidden so a developer's real
account can never be touched by the tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

BUCKET = "crewchief-tests"
RUNNING = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")
START_TIMEOUT = 30.0
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
HIDDEN_ENV = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "CREWCHIEF_S3_ENDPOINT",
)


def _wait_for_endpoint(proc: subprocess.Popen[bytes], log: Path) -> str:
    """The server's URL once its log names it and it answers HTTP."""
    deadline = time.monotonic() + START_TIMEOUT
    endpoint = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if not endpoint and (match := RUNNING.search(log.read_text(errors="replace"))):
            endpoint = match.group(1)
        if endpoint:
            try:
                urllib.request.urlopen(endpoint, timeout=2).close()
                return endpoint
            except urllib.error.HTTPError:
                return endpoint  # any HTTP answer means it is serving
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.05)
    raise RuntimeError(f"moto server did not start (exit {proc.poll()}):\n{log.read_text()}")


@pytest.fixture(scope="session")
def s3_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(url, endpoint) of an empty bucket on a real S3 API; tests use their own prefixes."""
    folder = tmp_path_factory.mktemp("moto")
    log = folder / "moto.log"
    with pytest.MonkeyPatch.context() as env, open(log, "wb") as out:
        for name in HIDDEN_ENV:
            env.delenv(name, raising=False)
        for name, value in DUMMY_ENV.items():
            env.setenv(name, value)
        env.setenv("AWS_CONFIG_FILE", str(folder / "no-config"))
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "no-credentials"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            endpoint = _wait_for_endpoint(proc, log)
            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            client.close()
            yield f"s3://{BUCKET}", endpoint
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
