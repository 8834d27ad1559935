"""``provision test`` against a host that accepts connections and never answers.

It must come back within its short leash (two attempts of 10 s, not six of 60 s), say so while
it waits, and blame the network or the Region, never the credentials.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.conftest import Cli


@pytest.fixture
def silent() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts every connection and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    server.close()


def test_a_silent_domain_is_blamed_on_the_network_and_each_retry_is_shown(
    cli: Cli, silent: str
) -> None:
    (cli.cwd / "provision.toml").write_text(f'[oci]\ndomain_url = "{silent}"\nclient_id = "c"\n')
    result = cli("test", "oci", env={"PROVISION_OCI_CLIENT_SECRET": "s"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL domain answers" in result.stdout
    assert "this machine's route to it" in result.stdout
    assert "client_secret" not in result.stdout  # not the credentials
    assert "attempt 1 of 2, retrying" in result.stderr


def test_a_silent_aws_endpoint_is_blamed_on_the_network_and_the_region(
    cli: Cli, silent: str
) -> None:
    (cli.cwd / "provision.toml").write_text(
        f'[cognito]\nuser_pool_id = "eu-west-1_AbC123"\nendpoint_url = "{silent}"\n'
        f'sts_endpoint_url = "{silent}"\naccess_key_id = "AKIASILENT"\n'
    )
    env = {"PROVISION_COGNITO_SECRET_ACCESS_KEY": "x", "AWS_EC2_METADATA_DISABLED": "true"}
    result = cli("test", "cognito", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL AWS answers" in result.stdout
    assert "Check the Region (eu-west-1" in result.stdout
    assert "FAIL AWS credentials" not in result.stdout
