"""HTTPS: `crewchief serve --tls-cert --tls-key`, end to end with the real qdrant-client.

The certificate is self-signed, made here for 127.0.0.1 and localhost; the
clients trust it by being pointed at it (an SSL context with it as the only
CA), never by turning verification off, and a client that does not trust it
is refused by the TLS handshake.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from qdrant_client import QdrantClient, models

from tests.server.conftest import FULL_KEY
from tests.server.data import points
from tests.server.serverproc import ServerProcess, start_server
from tests.server.test_auth import token


def self_signed(directory: Path, name: str = "crewchief-test") -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    base = tmp_path_factory.mktemp("serve-tls")
    cert, key = self_signed(base)
    env = {"CREWCHIEF_API_KEY": FULL_KEY, "CREWCHIEF_JWT_RBAC": "1"}
    proc = start_server(base / "data", "--tls-cert", str(cert), "--tls-key", str(key), env=env)
    yield proc, cert
    proc.stop()


def trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def test_qdrant_client_over_https_with_a_key_and_a_jwt(
    tls: tuple[ServerProcess, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert = tls
    assert server.url.startswith("https://127.0.0.1:")
    # one client trusts the certificate through `verify=`, passed on to httpx ...
    client = QdrantClient(
        url=server.url,
        https=True,
        api_key=FULL_KEY,
        verify=trusting(cert),
        prefer_grpc=False,
        check_compatibility=False,  # its version check ignores `verify=` (a plain httpx.get)
    )
    # ... the other through SSL_CERT_FILE, which httpx reads, version check included
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Failed to obtain server version" would fail here
        reader = QdrantClient(
            url=server.url,
            https=True,
            auth_token_provider=lambda: token({"access": "r"}),
            prefer_grpc=False,
        )
    try:
        assert reader.info().version
        client.create_collection(
            "tls_c", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
        )
        client.upsert("tls_c", points(20, 4))
        hits = reader.query_points("tls_c", query=[1.0, 0, 0, 0], limit=5).points
        assert len(hits) == 5
        assert reader.count("tls_c").count == 20
    finally:
        client.close()
        reader.close()


def test_a_client_that_does_not_trust_the_certificate_is_refused(
    tls: tuple[ServerProcess, Path],
) -> None:
    server, cert = tls
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(server.url + "/healthz")  # the default CAs do not know it
    ok = httpx.get(server.url + "/healthz", verify=trusting(cert))
    assert ok.status_code == 200
    with pytest.raises(httpx.HTTPError):  # and the port speaks TLS only
        httpx.get(server.url.replace("https://", "http://") + "/healthz", timeout=5)


def test_tls_options_are_checked_before_serving(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    other_cert, _ = self_signed(tmp_path, "other")
    cases = [
        (["--tls-cert", str(cert)], "--tls-cert needs --tls-key"),
        (["--tls-key", str(key)], "--tls-key needs --tls-cert"),
        (["--tls-cert", str(tmp_path / "missing.crt"), "--tls-key", str(key)], "Cannot use"),
        (["--tls-cert", str(other_cert), "--tls-key", str(key)], "Cannot use"),
        (["--jwt-rbac"], "--jwt-rbac needs --api-key"),
    ]
    for args, message in cases:
        run = subprocess.run(
            [sys.executable, "-m", "crewchief.server", "--data", str(tmp_path / "d"), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode != 0 and message in run.stderr, (args, run.stderr)
