"""``python -m provision_oci.emulator``: serve a domain by hand."""

from __future__ import annotations

import argparse
import threading
from typing import TYPE_CHECKING

from provision_oci.settings import TIERS

if TYPE_CHECKING:
    pass

from provision_oci.emulator.facade import OciEmulator

# Command -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Serve an emulated domain until Ctrl-C, for trying the connector by hand."""
    parser = argparse.ArgumentParser(
        prog="python -m provision_oci.emulator",
        description="A local OCI IAM identity domain (SCIM + OAuth2) for tests and demos.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8043)
    parser.add_argument("--tier", default="free", choices=sorted(TIERS))
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fail-after-commit-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--client-id", default="provision-test")
    parser.add_argument("--client-secret", default="provision-test-secret")
    parser.add_argument("--token-ttl", type=int, default=3600)
    parser.add_argument("--no-limits", action="store_true", help="disable the rate limits")
    parser.add_argument("--no-retry-after", action="store_true", help="429 without Retry-After")
    parser.add_argument("--no-bulk", action="store_true", help="announce and answer no Bulk")
    args = parser.parse_args(argv)
    emulator = OciEmulator(
        tier=args.tier,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        seed=args.seed,
        retry_after=not args.no_retry_after,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_ttl=args.token_ttl,
        bulk=not args.no_bulk,
        limits=not args.no_limits,
        fail_after_commit_rate=args.fail_after_commit_rate,
        host=args.host,
        port=args.port,
    )
    with emulator:
        print(f"OCI identity domain emulator ({args.tier}) at {emulator.url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopped", flush=True)


if __name__ == "__main__":
    main()
