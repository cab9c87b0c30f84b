"""moto's server mode on loopback, with boto3 isolated from this machine's AWS setup (dummy keys)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from tests.fake_rds import ACCESS_KEY_ID, SECRET_ACCESS_KEY


def isolate_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy keys and no profile, config file, endpoint override or instance metadata from this machine."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@contextmanager
def moto_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Start moto (every service on one port) and yield its URL; the caller routes services to it."""
    isolate_aws(monkeypatch, tmp_path)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        # moto keeps its backends per process, not per server: without a reset, a test sees what an
        # earlier test on the same xdist worker created (CreateSecret then fails: ResourceExists).
        reset = http.client.HTTPConnection(host, port, timeout=10)
        try:
            reset.request("POST", "/moto-api/reset")
            assert reset.getresponse().status == 200, "moto did not reset its backends"
        finally:
            reset.close()
        yield url
    finally:
        server.stop()
