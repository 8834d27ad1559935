"""Connector discovery through entry points, and endpoints that each own one connector."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, distributions, entry_points
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from provision import Check, Role, hookimpl
from provision.diagnose import diagnose
from provision.plugins import (
    ENTRY_POINT_GROUP,
    ConnectorError,
    Endpoint,
    Registry,
    discover,
    inspect_connector,
)
from tests.conftest import Cli

FAKES = "provision_fake_connectors"
"""A module written to tmp_path for each test: entry points can only name importable code."""

FAKES_SOURCE = '''
from pydantic import BaseModel, ConfigDict

from provision import Check, hookimpl


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Lenient(BaseModel):
    pass


class Good:
    """A source that checks nothing."""

    roles = frozenset({"source"})
    Settings = Strict

    def __init__(self, settings):
        self.settings = settings

    @hookimpl
    def provision_test(self):
        return [Check("good", True, "fine")]

    @hookimpl
    def provision_full_read(self):
        return iter(())


class NoSettings(Good):
    Settings = None


class LenientSettings(Good):
    Settings = Lenient


class NoRoles(Good):
    roles = frozenset()


class BadRole(Good):
    roles = frozenset({"sink"})


class StringRoles(Good):
    roles = "source"


class Misspelt(Good):
    @hookimpl
    def provision_ful_read(self):
        return iter(())


def not_a_class():
    return Good
'''


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The importable name of the fake connector module."""
    (tmp_path / f"{FAKES}.py").write_text(FAKES_SOURCE, encoding="utf-8")
    (tmp_path / "provision_broken_connector.py").write_text(
        "import provision_vendor_sdk_not_installed\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield FAKES
    for name in (FAKES, "provision_broken_connector"):
        sys.modules.pop(name, None)


def ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


# Discovery


def test_the_file_connector_is_found_through_its_entry_point() -> None:
    registry = discover()
    info = registry.get("file")
    assert info.distribution == "provision-sync"
    assert info.roles == {Role.SOURCE, Role.TARGET}
    assert info.cls.__module__ == "provision_file"
    assert "file" not in {e.name for e in registry.errors}


def test_a_connector_whose_import_fails_is_reported_and_the_others_still_load(
    fakes: str,
) -> None:
    registry = discover(
        eps=[
            ep("broken", "provision_broken_connector:Connector"),
            ep("good", f"{fakes}:Good"),
        ]
    )
    assert list(registry.connectors) == ["good"]
    (error,) = registry.errors
    assert error.name == "broken"
    assert error.error == (
        "it needs the package 'provision_vendor_sdk_not_installed', which is not installed: "
        "install provision_vendor_sdk_not_installed (or the extra of unknown that brings it)"
    )


def test_a_connector_whose_package_is_in_an_extra_names_the_extra(
    fakes: str, tmp_path: Path
) -> None:
    site = tmp_path / "site"  # what `pip install provision-vendor` without its extra leaves
    info = site / "provision_vendor-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: provision-vendor\nVersion: 1.0\n"
        "Provides-Extra: other\nProvides-Extra: vendor\n"
    )
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nvendor = provision_broken_connector:Connector\n"
    )
    (dist,) = distributions(path=[str(site)])
    registry = discover(eps=list(dist.entry_points.select(group=ENTRY_POINT_GROUP)))
    with pytest.raises(ConnectorError) as caught:
        registry.get("vendor")
    assert str(caught.value) == (
        "connector 'vendor' (from provision-vendor) failed to load: it needs the package "
        "'provision_vendor_sdk_not_installed', which is not installed: "
        "pip install 'provision-vendor[vendor]'"
    )


@pytest.mark.parametrize(
    ("cls", "complaint"),
    [
        ("NoSettings", "NoSettings.Settings must be a pydantic model"),
        ("LenientSettings", "LenientSettings.Settings must set extra='forbid'"),
        ("NoRoles", "NoRoles.roles is empty"),
        ("BadRole", "'sink' is not a valid Role; roles are 'source' and 'target'"),
        ("StringRoles", "roles must be a set such as frozenset({Role.SOURCE}), not the string"),
        ("not_a_class", "must name a class"),
    ],
)
def test_a_malformed_connector_class_is_reported_with_what_to_fix(
    fakes: str, cls: str, complaint: str
) -> None:
    registry = discover(eps=[ep("bad", f"{fakes}:{cls}"), ep("good", f"{fakes}:Good")])
    assert list(registry.connectors) == ["good"]
    (error,) = registry.errors
    assert error.name == "bad"
    assert complaint in error.error


def test_a_connector_that_failed_to_load_says_why_when_asked_for(fakes: str) -> None:
    registry = discover(eps=[ep("broken", "provision_broken_connector:Connector")])
    with pytest.raises(ConnectorError, match=r"connector 'broken' .*failed to load: "):
        registry.get("broken")


def test_a_name_registered_by_two_distributions_names_both(fakes: str, tmp_path: Path) -> None:
    site = tmp_path / "site"  # not on sys.path: only this test sees the rival
    info = site / "provision_rival-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: provision-rival\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nfile = {fakes}:Good\n")
    (rival,) = distributions(path=[str(site)])
    registry = discover(
        eps=[
            *entry_points(group=ENTRY_POINT_GROUP),
            *rival.entry_points.select(group=ENTRY_POINT_GROUP),
        ]
    )
    assert registry.get("file").distribution == "provision-sync"  # the first one found stays
    (error,) = registry.errors
    assert (error.name, error.distribution) == ("file", "provision-rival")
    assert "also registered by provision" in error.error
    assert "uninstall one" in error.error


def test_a_broken_connector_still_claims_its_name(fakes: str) -> None:
    registry = discover(
        eps=[ep("dup", "provision_broken_connector:Connector"), ep("dup", f"{fakes}:Good")]
    )
    assert "dup" not in registry.connectors  # no silent stand-in for the broken one
    assert [e.name for e in registry.errors] == ["dup"]


def test_asking_for_an_unknown_connector_lists_the_available_ones() -> None:
    registry = discover()
    with pytest.raises(ConnectorError) as caught:
        registry.get("fiel")
    message = str(caught.value)
    assert "no connector named 'fiel'." in message
    assert "Did you mean 'file'?" in message
    available = message.split("Choose one of: ")[1].split(".")[0].split(", ")
    assert available == sorted(registry.connectors)
    assert "file" in available


def test_an_empty_registry_says_there_is_none() -> None:
    with pytest.raises(ConnectorError, match=r"Choose one of: none\."):
        Registry().get("file")


# Endpoints


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = "hello"


class Source:
    """Reads nothing; its test answers with its settings."""

    roles = frozenset({Role.SOURCE})
    Settings = Settings

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    @hookimpl
    def provision_test(self) -> list[Check]:
        return [Check("answer", True, self.settings.answer)]

    @hookimpl
    def provision_full_read(self) -> Iterator[Any]:
        return iter(())


class MisspeltHook(Source):
    @hookimpl
    def provision_ful_read(self) -> Iterator[Any]:
        return iter(())


class MisspeltArgument(Source):
    @hookimpl
    def provision_full_read(self, roles: Role) -> Iterator[Any]:
        return iter(())


class TargetWithoutWrite(Source):
    roles = frozenset({Role.TARGET})


class WithoutTest:
    roles = frozenset({Role.SOURCE})
    Settings = Settings

    @hookimpl
    def provision_full_read(self) -> Iterator[Any]:
        return iter(())


class Refuses(Source):
    def __init__(self, settings: Settings) -> None:
        raise ValueError("the region is not set")


class Auditor:
    """An observer that sees every connectivity test and adds one check of its own."""

    def __init__(self) -> None:
        self.seen: list[Check] = []

    @hookimpl(wrapper=True)
    def provision_test(self) -> Iterator[None]:
        checks = yield
        self.seen.extend(checks)
        return [*checks, Check("audited", True, "seen by the auditor")]


class Unmarked(Source):
    def provision_test(self) -> list[Check]:  # @hookimpl forgotten
        return []


class UnmarkedOptional(Source):
    def provision_request_stats(self) -> None:
        return None


# Plugin mistakes: each diagnosed as a bug of the connector, with the fix


def test_a_misspelt_hook_gets_a_did_you_mean() -> None:
    (problem,) = diagnose(MisspeltHook, {Role.SOURCE})
    assert problem.where == "MisspeltHook.provision_ful_read"
    assert "is not a provision hook" in problem.problem
    assert problem.fix.startswith("did you mean provision_full_read?")


def test_a_provision_method_that_is_no_hook_is_named_even_unmarked() -> None:
    class Helper(Source):
        def provision_helper(self) -> None: ...

    (problem,) = diagnose(Helper, {Role.SOURCE})
    assert problem.where == "Helper.provision_helper"
    assert "provision_full_read" in problem.fix  # the hooks are listed
    assert "name that does not start with provision_" in problem.fix


def test_a_hook_without_hookimpl_is_told_to_add_it_not_reported_missing() -> None:
    (problem,) = diagnose(Unmarked, {Role.SOURCE})
    assert problem.where == "Unmarked.provision_test"
    assert "not marked @hookimpl" in problem.problem
    assert "add @hookimpl" in problem.fix
    (optional,) = diagnose(UnmarkedOptional, {Role.SOURCE})
    assert optional.where == "UnmarkedOptional.provision_request_stats"


def test_a_misspelt_argument_lists_the_allowed_names() -> None:
    (problem,) = diagnose(MisspeltArgument, {Role.SOURCE})
    assert problem.where == "MisspeltArgument.provision_full_read"
    assert "'roles'" in problem.problem
    assert "did you mean 'role'?" in problem.fix
    assert "role, attributes" in problem.fix


def test_a_missing_required_hook_is_named_by_role() -> None:
    (problem,) = diagnose(TargetWithoutWrite, {Role.TARGET})
    assert problem.where == "TargetWithoutWrite"
    assert problem.problem == "does not implement provision_write, which a target must"
    assert "@hookimpl" in problem.fix
    assert diagnose(Source, {Role.SOURCE}) == []


@pytest.mark.parametrize(
    ("cls", "text"),
    [
        (MisspeltHook, "did you mean provision_full_read?"),
        (MisspeltArgument, "role, attributes"),
        (Unmarked, "add @hookimpl"),
        (UnmarkedOptional, "add @hookimpl"),
    ],
)
def test_an_endpoint_refuses_a_buggy_connector_as_a_bug_with_the_fix(
    cls: type[Any], text: str
) -> None:
    with pytest.raises(ConnectorError) as caught:
        Endpoint.wrap(cls(), "buggy")
    message = str(caught.value)
    assert message.startswith("connector 'buggy' has a bug (tell its author)")
    assert text in message


def test_a_target_without_provision_write_is_refused_naming_the_hook() -> None:
    with pytest.raises(ConnectorError) as caught:
        Endpoint.wrap(TargetWithoutWrite(), "tgt")
    assert "does not implement provision_write, which a target must" in str(caught.value)


def test_a_required_hook_implemented_only_by_an_observer_does_not_count() -> None:
    class Tester:
        @hookimpl
        def provision_test(self) -> list[Check]:
            return []

    info = inspect_connector("bare", WithoutTest)
    with pytest.raises(ConnectorError, match="does not implement provision_test, which every"):
        Endpoint("bare", info, WithoutTest(), observers=[Tester()])


def test_a_source_only_endpoint_refuses_to_be_a_target() -> None:
    endpoint = Endpoint.wrap(Source(), "pool")
    endpoint.require(Role.SOURCE)
    with pytest.raises(ConnectorError) as caught:
        endpoint.require(Role.TARGET)
    assert str(caught.value) == (
        "endpoint 'pool' (connector 'pool') cannot be a target; it can be: source"
    )


def test_a_connector_that_cannot_start_says_why() -> None:
    info = inspect_connector("refuses", Refuses)
    with pytest.raises(ConnectorError, match=r"could not start: ValueError: the region is not set"):
        Endpoint.build("src", info, Settings())


def test_a_hook_call_reaches_exactly_one_connector() -> None:
    info = inspect_connector("source", Source)
    left = Endpoint.build("left", info, Settings(answer="from left"))
    right = Endpoint.build("right", info, Settings(answer="from right"))
    assert left.hook.provision_test() == [Check("answer", True, "from left")]
    assert right.hook.provision_test() == [Check("answer", True, "from right")]


def test_an_observer_wrapper_sees_and_extends_the_result() -> None:
    auditor = Auditor()
    endpoint = Endpoint.build(
        "src", inspect_connector("source", Source), Settings(), observers=[auditor]
    )
    checks = endpoint.hook.provision_test()
    assert auditor.seen == [Check("answer", True, "hello")]
    assert checks == [
        Check("answer", True, "hello"),
        Check("audited", True, "seen by the auditor"),
    ]


def test_close_is_optional_and_reaches_the_connector() -> None:
    class Closable(Source):
        closed = False

        def close(self) -> None:
            self.closed = True

    Endpoint.wrap(Source()).close()  # no close(): nothing to do
    connector = Closable()
    Endpoint.wrap(connector).close()
    assert connector.closed


# The `connectors` command


@pytest.fixture
def installed(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """Make a distribution with these entry points visible to a subprocess, uninstalled."""

    def install(connectors: dict[str, str], extras: tuple[str, ...] = ()) -> dict[str, str]:
        site = tmp_path / "site"
        info = site / "provision_fakes-1.0.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        (site / f"{FAKES}.py").write_text(FAKES_SOURCE, encoding="utf-8")
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: provision-fakes\nVersion: 1.0\n"
            + "".join(f"Provides-Extra: {e}\n" for e in extras)
        )
        lines = "".join(f"{name} = {value}\n" for name, value in connectors.items())
        (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
        return {"PYTHONPATH": str(site)}

    return install


def test_connectors_exits_1_when_a_connector_failed_to_load(
    cli: Cli, installed: Callable[..., dict[str, str]]
) -> None:
    env = installed({"broken": "provision_module_not_there:Connector"})
    result = cli("connectors", env=env)
    assert result.returncode == 1, result.stderr
    assert "connector 'broken' from provision-fakes failed to load" in result.stderr
    assert "file" in result.stdout  # the others are still listed
    code, found = cli.json("connectors", env=env)
    assert code == 1
    assert [e["name"] for e in found["errors"]] == ["broken"]


def test_connectors_exits_0_when_a_connector_only_lacks_its_extra(
    cli: Cli, installed: Callable[..., dict[str, str]]
) -> None:
    env = installed({"vendor": "provision_needs_sdk:Connector"}, extras=("vendor",))
    site = Path(env["PYTHONPATH"])  # the connector's module is there; the SDK it imports is not
    (site / "provision_needs_sdk.py").write_text("import provision_vendor_sdk_not_installed\n")
    result = cli("connectors", env=env)
    assert result.returncode == 0, result.stderr
    assert "connector 'vendor' from provision-fakes is not installed: " in result.stderr
    assert "pip install 'provision-fakes[vendor]'" in result.stderr
    code, found = cli.json("connectors", env=env)
    assert code == 0
    assert [(e["name"], e["optional"]) for e in found["errors"]] == [("vendor", True)]


def test_a_connector_whose_own_module_is_missing_is_broken_even_with_an_extra(
    cli: Cli, installed: Callable[..., dict[str, str]]
) -> None:
    env = installed({"vendor": "provision_module_not_there:Connector"}, extras=("vendor",))
    result = cli("connectors", env=env)
    assert result.returncode == 1, result.stderr
    assert "connector 'vendor' from provision-fakes failed to load: ModuleNotFound" in result.stderr


def test_connectors_exits_0_when_all_load(cli: Cli) -> None:
    assert cli("connectors").returncode == 0


def test_connectors_check_diagnoses_each_connector_class(
    cli: Cli, installed: Callable[..., dict[str, str]]
) -> None:
    env = installed({"good": f"{FAKES}:Good", "misspelt": f"{FAKES}:Misspelt"})
    result = cli("connectors", "--check", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ok   good" in result.stdout
    assert "ok   file" in result.stdout
    assert "bug  misspelt (provision-fakes 1.0): Misspelt.provision_ful_read" in result.stdout
    assert "did you mean provision_full_read?" in result.stdout
    code, found = cli.json("connectors", "--check", env=env)
    assert code == 1
    assert found["problems"]["good"] == []
    (problem,) = found["problems"]["misspelt"]
    assert problem["where"] == "Misspelt.provision_ful_read"


def test_connectors_check_passes_the_built_in_connectors(cli: Cli) -> None:
    result = cli("connectors", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("file", "cognito", "oci"):
        assert f"ok   {name}" in result.stdout


def test_a_buggy_connector_is_blamed_on_its_author_not_the_configuration(
    cli: Cli, installed: Callable[..., dict[str, str]]
) -> None:
    env = installed({"misspelt": f"{FAKES}:Misspelt"})
    (cli.cwd / "provision.toml").write_text("[misspelt]\n")
    result = cli("test", "misspelt", env=env)
    assert result.returncode == 1, result.stdout + result.stderr  # not 2: no config mistake
    assert "connector 'misspelt' (from provision-fakes) has a bug (tell its author)" in (
        result.stderr
    )
    assert "did you mean provision_full_read?" in result.stderr
    assert "provision.toml" not in result.stderr
