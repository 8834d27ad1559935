"""TLS is verified by default, a private CA works, plain http leaves only for loopback."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from provision_oci.emulator import OciEmulator
from tests.conftest import Cli

SECRET = "tls-client-secret-0123456789"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: its own CA."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provision test domain")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "domain.pem", folder / "domain.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def https_domain(certificate: tuple[Path, Path]) -> Iterator[OciEmulator]:
    cert, key = certificate
    with OciEmulator(
        client_id="tls", client_secret=SECRET, limits=False, ssl_context=(str(cert), str(key))
    ) as domain:
        yield domain


def configure(cli: Cli, domain_url: str, extra: str = "") -> None:
    (cli.cwd / "provision.toml").write_text(
        f'[oci]\ndomain_url = "{domain_url}"\nclient_id = "tls"\nmax_attempts = 1\n{extra}\n'
    )
    cli.env["PROVISION_OCI_CLIENT_SECRET"] = SECRET


def test_an_untrusted_certificate_is_refused(cli: Cli, https_domain: OciEmulator) -> None:
    assert https_domain.url.startswith("https://127.0.0.1:")
    configure(cli, https_domain.url)
    result = cli("test", "oci")
    assert result.returncode == 1
    assert "FAIL domain answers" in result.stdout
    assert "CERTIFICATE_VERIFY_FAILED" in result.stdout
    assert "ca_bundle" in result.stdout
    assert https_domain.counts() == {}  # no request got through


def test_a_custom_ca_bundle_is_trusted(
    cli: Cli, https_domain: OciEmulator, certificate: tuple[Path, Path]
) -> None:
    configure(cli, https_domain.url, f'ca_bundle = "{certificate[0]}"')
    result = cli("test", "oci")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   token granted" in result.stdout
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("url", ["http://idcs-123.identity.oraclecloud.com", "http://192.0.2.10"])
def test_plain_http_to_anything_but_loopback_is_refused_before_connecting(
    cli: Cli, url: str
) -> None:
    configure(cli, url)
    result = cli("test", "oci")
    assert result.returncode == 2
    assert "uses plain http" in result.stderr
    assert "http is accepted only for a local emulator on a loopback address" in result.stderr
