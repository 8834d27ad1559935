"""The e2e world: a moto pool, an OCI emulator, and the CLI configured between them."""

from __future__ import annotations

import json
from typing import Any

from provision_cognito.standin import CognitoStandIn
from provision_oci.emulator import OciEmulator
from tests.conftest import Cli

AWS_SECRET = "e2e-aws-secret-access-key-0123456789"
OCI_SECRET = "e2e-oci-client-secret-0123456789"
CLIENT = "provision-e2e"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


class World:
    """A pool, a domain, and the CLI configured between them."""

    def __init__(self, cli: Cli, cognito: CognitoStandIn, domain: OciEmulator) -> None:
        self.cli, self.cognito, self.domain = cli, cognito, domain
        self.pool = cognito.create_pool(custom=["department"])
        self.idp = cognito.client()
        names = [f"user{i:03}" for i in range(40)]
        self.subs = cognito.seed(
            self.pool,
            [
                (
                    n,
                    {
                        "email": f"{n}@example.org",
                        "given_name": "Given",
                        "family_name": n.title(),
                        "custom:department": "R&D",
                    },
                )
                for n in names
            ],
            {"everyone": names, "admins": names[:3], "ops": names[10:20]},
        )
        self.configure()
        cli.env.update(
            PROVISION_COGNITO_SECRET_ACCESS_KEY=AWS_SECRET,
            PROVISION_OCI_CLIENT_SECRET=OCI_SECRET,
            AWS_EC2_METADATA_DISABLED="true",
        )

    def configure(self, cognito: str = "", oci: str = "", sync: str = "") -> None:
        (self.cli.cwd / "provision.toml").write_text(
            f'[cognito]\nregion = "{self.cognito.region}"\nuser_pool_id = "{self.pool}"\n'
            f'endpoint_url = "{self.cognito.url}"\nsts_endpoint_url = "{self.cognito.url}"\n'
            'access_key_id = "AKIAPROVISIONE2E"\n'
            'role_arn = "arn:aws:iam::123456789012:role/provision"\n'
            f'external_id = "e2e-external-id"\n{cognito}\n'
            f'[oci]\ndomain_url = "{self.domain.url}"\nclient_id = "{CLIENT}"\n'
            f'tier = "premium"\n{oci}\n[sync]\n{sync}\n'
        )

    def run(self, *args: str) -> tuple[int, dict[str, Any]]:
        result = self.cli("run", "cognito->oci", "--json", *args)
        assert result.stdout, result.stderr
        return result.returncode, json.loads(result.stdout)

    def writes(self) -> dict[str, int]:
        return {
            k: v
            for k, v in self.domain.counts().items()
            if k.split(" ", 1)[0] in WRITES and k != "POST token"
        }

    def users(self) -> dict[str, dict[str, Any]]:
        return {u["userName"]: u for u in self.domain.users()}

    def members(self, group: str) -> set[str]:
        names = {u["id"]: u["userName"] for u in self.domain.users()}
        (held,) = [g for g in self.domain.groups() if g["displayName"] == group]
        return {names[m["value"]] for m in held.get("members") or ()}
