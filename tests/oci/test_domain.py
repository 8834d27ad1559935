"""Learning the domain: its IdentitySettings and schemas, read once, and what follows from them.

The emulator serves the schema snapshot (``provision_oci/oci_schema.json``, generated from the
OCI SDK's models by ``tools/oci_schema_snapshot.py``) and a switchable ``primaryEmailRequired``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from provision import Kind
from provision.plugins import Endpoint
from provision.testing import MemoryConnector, Sample, SampleUser, sync
from provision_oci import domain as learned
from provision_oci.emulator import OciEmulator

from .conftest import target, writes

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ROOT = Path(__file__).resolve().parents[2]
PEOPLE = Sample(
    users=tuple(
        SampleUser(f"p{i}", f"Given{i}", f"Family{i}", f"p{i}@example.org") for i in range(3)
    ),
    groups={"all": ("p0", "p1", "p2")},
)


def get(domain: OciEmulator, path: str) -> httpx.Response:
    return httpx.get(f"{domain.url}/admin/v1{path}", headers=domain.admin_headers())


def test_the_emulator_serves_identity_settings_with_a_switchable_primary_email_rule(
    domain: OciEmulator,
) -> None:
    listed = get(domain, "/IdentitySettings").json()
    assert listed["Resources"][0]["primaryEmailRequired"] is True
    domain.primary_email_required = False
    assert get(domain, "/IdentitySettings").json()["Resources"][0]["primaryEmailRequired"] is False
    one = get(domain, f"/IdentitySettings/{listed['Resources'][0]['id']}").json()
    assert one["primaryEmailRequired"] is False


def test_the_emulator_serves_the_user_schema_from_the_snapshot(domain: OciEmulator) -> None:
    schema = get(domain, f"/Schemas/{USER}").json()
    attributes = {a["name"]: a for a in schema["attributes"]}
    name = {s["name"]: s for s in attributes["name"]["subAttributes"]}
    assert name["familyName"]["required"] is False
    phone = {s["name"]: s for s in attributes["phoneNumbers"]["subAttributes"]}
    assert phone["display"]["mutability"] == "readOnly"
    listed = {s["id"] for s in get(domain, "/Schemas").json()["Resources"]}
    assert USER in listed


def test_a_user_without_email_is_created_when_the_domain_does_not_require_one(
    domain: OciEmulator,
) -> None:
    body = {"schemas": [USER], "userName": "nomail"}
    url, headers = f"{domain.url}/admin/v1/Users", domain.admin_headers()
    assert httpx.post(url, headers=headers, json=body).status_code == 400
    domain.primary_email_required = False
    assert httpx.post(url, headers=headers, json=body).status_code == 201


def test_the_target_learns_the_domain_once(domain: OciEmulator) -> None:
    domain.primary_email_required = False
    oci = target(domain)
    profile = oci.profile()
    assert profile.primary_email_required is False
    assert profile.required("name.familyName") is False
    assert profile.read_only("phoneNumbers.display") is True
    assert profile.schema_source == "the domain"
    oci.profile()
    assert domain.counts()["GET IdentitySettings"] == 1
    assert domain.counts()["GET Schemas"] == 1


def test_users_without_email_are_synced_where_the_domain_allows_it(
    domain: OciEmulator, tmp_path: Path
) -> None:
    domain.primary_email_required = False
    source = MemoryConnector.holding(PEOPLE)
    del source.directory.users["key-p1"]["emails"]
    report = sync(source, target(domain), tmp_path / "s.db")
    assert report.status == "succeeded", report.errors
    assert report.users["created"] == 3
    domain.reset_counts()
    assert sync(source, target(domain), tmp_path / "s.db").writes == 0
    assert writes(domain) == {}


def test_users_without_email_fail_alone_where_the_domain_requires_one(
    domain: OciEmulator, tmp_path: Path
) -> None:
    source = MemoryConnector.holding(PEOPLE)
    del source.directory.users["key-p1"]["emails"]
    report = sync(source, target(domain), tmp_path / "s.db")
    assert report.users["created"] == 2
    assert any("requires one primary email" in str(e) for e in report.errors)


def test_a_missing_family_name_is_left_out_not_filled_with_the_user_name(
    domain: OciEmulator, tmp_path: Path
) -> None:
    source = MemoryConnector.holding(PEOPLE)
    source.directory.users["key-p2"]["name"] = {"givenName": "Cher"}
    sync(source, target(domain), tmp_path / "s.db")
    (cher,) = [u for u in domain.users() if u["userName"] == "p2"]
    assert cher["name"] == {"givenName": "Cher"}
    assert sync(source, target(domain), tmp_path / "s.db").writes == 0


def test_normalize_fills_the_family_name_only_where_the_schema_requires_it() -> None:
    strict = learned.DomainProfile.from_snapshot(primary_email_required=True)
    strict = strict.requiring("name.familyName")
    attributes = {"userName": "cher", "name": {"givenName": "Cher"}}
    assert strict.normalize(Kind.USER, attributes)["name"]["familyName"] == "cher"
    loose = learned.DomainProfile.from_snapshot(primary_email_required=True)
    assert "familyName" not in loose.normalize(Kind.USER, attributes)["name"]


def test_provision_test_shows_what_it_learned(domain: OciEmulator) -> None:
    domain.primary_email_required = False
    checks = Endpoint.wrap(target(domain)).hook.provision_test()
    text = "\n".join(f"{c.name}: {c.message}" for c in checks)
    assert "primary email required: no" in text
    assert "family name required: no" in text


def test_the_snapshot_records_its_source_and_sdk_version() -> None:
    snapshot = json.loads((ROOT / "connectors/provision_oci/oci_schema.json").read_text())
    assert snapshot["sdk"].startswith("oci ")
    assert snapshot["generator"] == "tools/oci_schema_snapshot.py"
    assert USER in {s["id"] for s in snapshot["Resources"]}


@pytest.mark.skipif(importlib.util.find_spec("oci") is None, reason="needs the oci SDK")
def test_the_snapshot_is_what_the_generator_writes() -> None:  # pragma: no cover - optional
    written = subprocess.run(
        [sys.executable, str(ROOT / "tools/oci_schema_snapshot.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    committed = (ROOT / "connectors/provision_oci/oci_schema.json").read_text()
    assert json.loads(written)["Resources"] == json.loads(committed)["Resources"]


# Read-only and canonical attributes --------------------------------------------------------


def user_body(name: str, **extra: object) -> dict[str, object]:
    return {
        "schemas": [USER],
        "userName": name,
        "emails": [{"value": f"{name}@example.org", "type": "work", "primary": True}],
        **extra,
    }


def test_the_domain_computes_a_phone_numbers_display(domain: OciEmulator) -> None:
    # SDK UserPhoneNumbers.display: "READ ONLY", mutability readOnly.
    phone = {"value": "+33 1 23 45 67 89", "type": "work", "display": "mine"}
    body = user_body("phoned", phoneNumbers=[phone])
    created = httpx.post(
        f"{domain.url}/admin/v1/Users", headers=domain.admin_headers(), json=body
    ).json()
    (read,) = get(domain, f"/Users/{created['id']}").json()["phoneNumbers"]
    assert read["display"] == "+33 1 23 45 67 89"


@pytest.mark.parametrize(
    ("attribute", "value"), [("userType", "Wizard"), ("timezone", "Mars/Olympus_Mons")]
)
def test_the_domain_refuses_a_value_outside_its_canonical_ones(
    domain: OciEmulator, attribute: str, value: str
) -> None:
    url, headers = f"{domain.url}/admin/v1/Users", domain.admin_headers()
    refused = httpx.post(url, headers=headers, json=user_body("odd", **{attribute: value}))
    assert refused.status_code == 400
    assert attribute in refused.json()["detail"]
    fine = {"userType": "Employee", "timezone": "Europe/Paris"}[attribute]
    body = user_body("even", **{attribute: fine})
    assert httpx.post(url, headers=headers, json=body).status_code == 201


def test_a_phone_numbers_display_is_never_sent_nor_compared(
    domain: OciEmulator, tmp_path: Path
) -> None:
    source = MemoryConnector.holding(PEOPLE)
    source.directory.users["key-p0"]["phoneNumbers"] = [
        {"value": "+1 555 0100", "type": "mobile", "display": "my mobile"}
    ]
    report = sync(source, target(domain), tmp_path / "s.db")
    assert report.status == "succeeded", report.errors
    (p0,) = [u for u in domain.users() if u["userName"] == "p0"]
    assert p0["phoneNumbers"][0]["display"] == "+1 555 0100"  # the domain's, not ours
    assert sync(source, target(domain), tmp_path / "s.db").writes == 0


def test_values_the_domain_would_refuse_are_left_out_with_a_warning(
    domain: OciEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = MemoryConnector.holding(PEOPLE)
    source.directory.users["key-p0"].update(userType="Wizard", timezone="Mars/Olympus_Mons")
    source.directory.users["key-p1"].update(userType="employee", timezone="Europe/Paris")
    report = sync(source, target(domain), tmp_path / "s.db")
    assert report.status == "succeeded", report.errors
    users = {u["userName"]: u for u in domain.users()}
    assert "userType" not in users["p0"]
    assert "timezone" not in users["p0"]
    assert (users["p1"]["userType"], users["p1"]["timezone"]) == ("Employee", "Europe/Paris")
    assert "'p0'" in caplog.text
    assert "Wizard" in caplog.text
    assert "Mars/Olympus_Mons" in caplog.text
    assert sync(source, target(domain), tmp_path / "s.db").writes == 0


def test_no_production_module_imports_the_emulator() -> None:
    """The emulator is a stand-in: only the sandbox (imported on request) may load it."""
    import ast

    package = ROOT / "connectors/provision_oci"
    offenders = []
    for path in package.rglob("*.py"):
        relative = path.relative_to(package)
        if relative.parts[0] == "emulator" or relative.name == "sandbox.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n.startswith("provision_oci.emulator") for n in names):
                offenders.append(f"{relative}: line {node.lineno}")
    assert offenders == []
