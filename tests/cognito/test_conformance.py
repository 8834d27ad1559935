"""The Cognito source passes the conformance kit every source passes."""

from __future__ import annotations

from typing import Any

import pytest

from provision.testing import SAMPLE, SourceContract
from provision_cognito import CognitoSource
from provision_cognito.standin import CognitoStandIn

from .conftest import source


class TestCognitoSource(SourceContract):
    @pytest.fixture
    def source(self, standin: CognitoStandIn, settings: dict[str, Any]) -> CognitoSource:
        users = [
            (
                u.user_name,
                {"email": u.email, "given_name": u.given_name, "family_name": u.family_name},
            )
            for u in SAMPLE.users
        ]
        active = {u.user_name: u.active for u in SAMPLE.users}
        standin.seed(settings["user_pool_id"], users, dict(SAMPLE.groups), enabled=active.get)
        return source(**settings)
