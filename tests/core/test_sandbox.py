"""Sandboxes come through the contract: the core names no connector, production loads none."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path
from typing import Any, Self

import pytest
from pydantic import BaseModel, ConfigDict

from provision import Check, Role, hookimpl
from provision import demo as sample
from provision.hookspecs import SandboxSpec
from provision.plugins import ConnectorError, Endpoint, Registry, inspect_connector, sandbox_of
from provision.sandbox import (
    LoopbackServer,
    LoopbackService,
    Sample,
    SandboxUnavailable,
    toml_table,
)
from tests.conftest import ROOT

CONNECTOR_PACKAGES = sorted(p.name for p in (ROOT / "connectors").iterdir() if p.is_dir())
STAND_INS = ("moto", "scim2_server", "werkzeug", "flask")
STAND_IN_MODULES = (".sandbox", ".standin", ".emulator")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_no_module_of_the_core_imports_a_connector() -> None:
    assert {"provision_cognito", "provision_oci", "provision_file"} <= set(CONNECTOR_PACKAGES)
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "core").rglob("*.py")
        for name in imported(path)
        if name.split(".")[0] in CONNECTOR_PACKAGES
    }
    assert not offenders


def test_importing_the_connectors_loads_no_stand_in() -> None:
    code = (
        "import sys, json, provision.cli, provision_cognito, provision_oci, provision_file\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(result.stdout)
    stand_ins = [
        m
        for m in loaded
        if m.split(".")[0] in STAND_INS
        or (m.split(".")[0] in CONNECTOR_PACKAGES and m.endswith(STAND_IN_MODULES))
    ]
    assert stand_ins == []
    assert "provision.sandbox" in loaded  # the core's kit is light: no werkzeug until started


@pytest.mark.parametrize(("name", "module"), [("cognito", "moto"), ("oci", "scim2_server")])
def test_a_missing_sandbox_extra_is_named(name: str, module: str) -> None:
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from provision.plugins import discover, sandbox_of\n"
        "from provision.sandbox import SandboxUnavailable\n"
        f"try:\n    sandbox_of(discover().get({name!r}))\n"
        "except SandboxUnavailable as err:\n    print(err)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == (
        f"the {name} sandbox needs {module}, which is not installed: "
        "pip install 'provision-sync[sandbox]'"
    )


# A third-party connector that offers a sandbox of its own ---------------------------------


class PhonebookSandbox(LoopbackService):
    """A phone book served on 127.0.0.1: answers its entries as JSON."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.entries: dict[str, str] = {}
        self.removed: list[str] = []

    def make_server(self) -> LoopbackServer:
        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(self.entries).encode()]

        return LoopbackServer(app, name="phonebook", port=self.port)

    def __enter__(self) -> Self:
        self.start()
        return self

    @property
    def label(self) -> str:
        return f"a phone book ({self.url})"

    def settings(self) -> dict[str, Any]:
        return {"url": self.url, "book": "main"}

    def secrets(self) -> dict[str, str]:
        return {"api_key": "phonebook-key"}

    def comments(self) -> dict[str, str]:
        return {"url": "the stand-in"}

    def summary(self) -> list[str]:
        return [f"{len(self.entries)} entries"]

    def seed(self, directory: Sample) -> None:
        self.entries = {p.username: p.given_name for p in directory.people}

    def rename_user(self, username: str, given_name: str) -> str:
        self.entries[username] = given_name
        return f"PUT {username}"

    def remove_member(self, group: str, username: str) -> str:
        self.removed.append(f"{group}/{username}")
        return f"DELETE {group}/{username}"

    def delete_user(self, username: str) -> str:
        del self.entries[username]
        return f"DELETE {username}"


class PhonebookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    book: str
    api_key: str


class Plain:
    """A phone book (a third-party source) without a sandbox."""

    roles = frozenset({Role.SOURCE})
    Settings = PhonebookSettings

    def __init__(self, settings: PhonebookSettings) -> None:
        self.settings = settings

    @hookimpl
    def provision_test(self) -> list[Check]:
        return [Check("phone book", True, "fine")]

    @hookimpl
    def provision_full_read(self) -> list[Any]:
        return []


class Phonebook(Plain):
    """A phone book (a third-party source) with a sandbox."""

    @staticmethod
    @hookimpl
    def provision_sandbox(port: int) -> PhonebookSandbox:
        return PhonebookSandbox(port)


def registry(**connectors: type[Any]) -> Registry:
    found = Registry()
    for name, cls in connectors.items():
        found.connectors[name] = inspect_connector(name, cls, "provision-phonebook", "1.0")
    return found


def test_a_third_party_connector_offers_a_sandbox_through_the_hook() -> None:
    info = registry(phonebook=Phonebook).get("phonebook")
    assert info.offers_sandbox
    box = sandbox_of(info)
    with box:
        box.seed(Sample(sample.people(3)))  # type: ignore[attr-defined]
        with urllib.request.urlopen(box.url, timeout=10) as answer:  # real HTTP
            assert len(json.loads(answer.read())) == 3
    # and its connector still registers as an endpoint: the static hook is part of the contract
    Endpoint.wrap(Phonebook(PhonebookSettings(url="x", book="b", api_key="k")), "phonebook")


def test_the_demo_composes_any_source_sandbox_with_any_target_sandbox(tmp_path: Path) -> None:
    from provision.plugins import discover

    found = registry(phonebook=Phonebook)
    found.connectors["oci"] = discover().get("oci")
    with sample.start(found, "phonebook", "oci", tmp_path, users=12) as demo:
        assert isinstance(demo.source, PhonebookSandbox)
        assert len(demo.source.entries) == 12
        config = tomllib.loads(demo.config.read_text())
        assert config["phonebook"] == {"url": demo.source.url, "book": "main"}
        assert config["oci"]["domain_url"] == demo.target.url
        assert demo.env == {
            "PROVISION_PHONEBOOK_API_KEY": "phonebook-key",
            "PROVISION_OCI_CLIENT_SECRET": "demo-client-secret",
        }
        assert "phonebook-key" not in demo.config.read_text()
        lines = sample.change_source(demo)
        assert [line.split()[0] for line in lines] == ["PUT", "DELETE", "DELETE"]


def test_a_connector_without_a_sandbox_says_which_connectors_offer_one() -> None:
    found = registry(phonebook=Phonebook, plain=Plain)
    with pytest.raises(ConnectorError) as err:
        sandbox_of(found.get("plain"), registry=found)
    assert str(err.value) == (
        "connector 'plain' offers no sandbox (it has no provision_sandbox hook). "
        "Connectors that offer one: phonebook."
    )


def test_a_sandbox_hook_that_is_not_a_static_method_is_refused() -> None:
    class Instance(Plain):
        @hookimpl
        def provision_sandbox(self, port: int) -> PhonebookSandbox:
            return PhonebookSandbox(port)

    with pytest.raises(ConnectorError, match=r"provision_sandbox must be a @staticmethod"):
        sandbox_of(inspect_connector("instance", Instance))


def test_a_hook_that_returns_no_sandbox_is_refused() -> None:
    class Broken(Plain):
        @staticmethod
        @hookimpl
        def provision_sandbox(port: int) -> Any:
            return object()

    with pytest.raises(ConnectorError, match=r"returned a object, which is not a .*label, url"):
        sandbox_of(inspect_connector("broken", Broken))


def test_an_import_error_in_a_sandbox_names_what_is_missing() -> None:
    class Needy(Plain):
        @staticmethod
        @hookimpl
        def provision_sandbox(port: int) -> Any:
            import provision_no_such_stand_in  # type: ignore[import-not-found]  # noqa: F401

    with pytest.raises(SandboxUnavailable, match=r"needs provision_no_such_stand_in"):
        sandbox_of(inspect_connector("needy", Needy))


def test_settings_are_shown_as_toml_that_reads_back() -> None:
    values = {"url": 'http://127.0.0.1:1/"x"\\', "n": 3, "on": True, "groups": ["a", "b"]}
    text = toml_table("my-endpoint", values, {"url": "a note"})
    assert tomllib.loads(text) == {"my-endpoint": values}
    assert 'url = "http://127.0.0.1:1/\\"x\\"\\\\"  # a note' in text


def test_the_sandbox_hook_is_documented_with_an_example_and_in_the_guide() -> None:
    doc = inspect.getdoc(SandboxSpec.provision_sandbox) or ""
    assert doc.splitlines()[0].endswith(".")
    assert "@staticmethod" in doc.split("**Example**::")[1]
    assert "provision_sandbox" in (ROOT / "docs" / "writing-a-connector.md").read_text()
