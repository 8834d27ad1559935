"""A local OCI IAM identity domain for tests, the demo and benchmarks, built on scim2-server.

`OciEmulator` serves, over real HTTP on 127.0.0.1 (werkzeug, threaded), what the OCI connector
talks to: the OAuth2 client-credentials token endpoint and SCIM under ``/admin/v1`` with the
Oracle schemas and rules that the live service enforces and plain SCIM does not (one primary
e-mail, immutable ``bypassNotification``, ``members`` returned on request only, 50-operation
bulk, per-tier rate limits, ``UserStatusChanger``). scim2-server does the SCIM protocol
(routing, validation, filters, PATCH, Bulk with ``bulkId`` references); this module adds the
Oracle layer around it, records every request, and injects latency, faults, lost answers and
another administrator's changes between two page reads.

Every Oracle behaviour it models, its source and its test are listed in docs/oci-fidelity.md;
the attribute rules come from ``provision_oci/oci_schema.json`` (generated from the OCI SDK's
models), which it also serves at ``/admin/v1/Schemas``.

Choices where the live service is unconfirmed (see the reference notes):

- A second Bulk request while one runs answers 429 (with ``Retry-After: 1`` when
  ``retry_after``); with ``limits=False`` it waits for the first one instead.
- Every error body carries the Oracle messages block; only
  ``error.identity.user.primaryEmailNotSpecified`` is a documented message id, the others are
  ``error.emulator.<scimType or status>`` so that nobody mistakes them for Oracle's.
- PATCH answers 200 with the resource (as OCI does), not scim2-server's default 204.
- Lists come sorted by ``id`` when no ``sortBy`` is given (scim2-server's order); Oracle
  documents no default order, so the connector always sends ``sortBy``.
- ``sortOrder`` is taken in either case: RFC 7644 spells it ``ascending``, Oracle's SDK sends
  ``ASCENDING``.

The connector never imports it: `provision_oci.sandbox` offers it to ``provision sandbox oci``
and the demo. To choose its tier, latency or faults, run it by hand:
``python -m provision_oci.emulator --port 8043 --tier premium --fault-rate 0.05``.
"""

from __future__ import annotations

from provision_oci.emulator.facade import OciEmulator

__all__ = ["OciEmulator"]
