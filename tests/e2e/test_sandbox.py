"""``provision sandbox NAME``: a connector's stand-in served until stopped, reachable as printed."""

from __future__ import annotations

import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import tomllib

import pytest

from tests.conftest import Cli

SECRET_VARIABLE = {
    "oci": "PROVISION_OCI_CLIENT_SECRET",
    "cognito": "PROVISION_COGNITO_SECRET_ACCESS_KEY",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(cli: Cli, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """Start ``provision sandbox ARGS``; return it and what it printed before serving."""
    process = subprocess.Popen(
        [sys.executable, "-m", "provision", "sandbox", *args],
        cwd=cli.cwd,
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(120, process.kill)  # a hung sandbox fails the test, not the run
    watchdog.daemon = True
    watchdog.start()
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if "Serving until Ctrl-C" in line:
            break
    else:
        raise AssertionError("".join(lines) + (process.stderr.read() if process.stderr else ""))
    return process, lines


@pytest.mark.parametrize(("name", "stop"), [("oci", signal.SIGINT), ("cognito", signal.SIGTERM)])
def test_the_sandbox_prints_what_reaches_it_serves_it_and_stops_cleanly(
    cli: Cli, name: str, stop: signal.Signals
) -> None:
    port = free_port()
    process, lines = serve(cli, name, "--port", str(port))
    try:
        url = f"http://127.0.0.1:{port}"
        assert f"url: {url}" in lines
        text = "\n".join(lines)
        table = text.split(f"[{name}]", 1)[1].split("\n\n", 1)[0]
        settings = tomllib.loads(f"[{name}]{table}")[name]
        assert url in settings.values()
        exports = dict(
            shlex.split(line.removeprefix("export "))[0].split("=", 1)
            for line in lines
            if line.startswith("export PROVISION_")
        )
        assert list(exports) == [SECRET_VARIABLE[name]]
        (cli.cwd / "provision.toml").write_text(f"[{name}]{table}\n")
        checked = cli("test", name, env=exports)  # a real client, as an author would try it
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "FAIL" not in checked.stdout
    finally:
        process.send_signal(stop)
        out, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    assert out.strip().endswith("stopped")
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_a_wrong_secret_is_refused_by_the_oci_sandbox(cli: Cli) -> None:
    process, lines = serve(cli, "oci")
    try:
        text = "\n".join(lines)
        table = text.split("[oci]", 1)[1].split("\n\n", 1)[0]
        (cli.cwd / "provision.toml").write_text(f"[oci]{table}\n")
        checked = cli("test", "oci", env={"PROVISION_OCI_CLIENT_SECRET": "not-the-secret"})
        assert checked.returncode == 1
        assert re.search(r"FAIL +token", checked.stdout)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert process.returncode == 0


def test_a_connector_without_a_sandbox_is_a_usage_error(cli: Cli) -> None:
    result = cli("sandbox", "file")
    assert result.returncode == 2
    assert "connector 'file' offers no sandbox" in result.stderr
    assert "Connectors that offer one: cognito, oci." in result.stderr


def test_a_taken_port_is_a_usage_error(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("sandbox", "oci", "--port", str(port))
    assert result.returncode == 2
    assert f"the oci sandbox cannot listen on 127.0.0.1:{port}" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--source", "file"), "connector 'file' offers no sandbox"),
        (("--source", "oci", "--target", "cognito"), "connector 'oci' cannot be the demo's source"),
    ],
)
def test_the_demo_refuses_connectors_that_cannot_play_their_part(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    result = cli("demo", *args)
    assert result.returncode == 2
    assert message in result.stderr
