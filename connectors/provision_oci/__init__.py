"""The ``oci`` connector: an Oracle OCI IAM identity domain as a target, over SCIM with httpx.

Writes go through SCIM Bulk when the domain offers it, within the domain's published rate
limits (its tier's token, others and bulk budgets); users are created without welcome mail
unless ``notify_users`` is set. `provision_oci.emulator` is a local identity domain built on
scim2-server, for tests, ``provision sandbox oci`` and the demo; nothing here imports it.
"""

from __future__ import annotations

from provision_oci.connector import OciTarget
from provision_oci.settings import OciSettings

__all__ = ["OciSettings", "OciTarget"]
