"""Runs scim2-tester's checks against a live List One SCIM endpoint and prints a summary.

Usage: SCIM_TOKEN=... python scim_conformance.py BASE_URL
Exits 1 when any check ends in ERROR or CRITICAL, or none ran.
"""

import os
import sys
from collections import Counter

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILED = {Status.ERROR, Status.CRITICAL}
PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.DEVIATION}


def main() -> int:
    base_url, token = sys.argv[1], os.environ["SCIM_TOKEN"]
    http = httpx2.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    results = check_server(SyncSCIMClient(http))
    counts = Counter(result.status for result in results)
    for result in results:
        where = f" [{result.resource_type}]" if result.resource_type else ""
        mark = "FAIL" if result.status in FAILED else result.status.name
        line = f"{mark:<10} {result.title}{where}"
        if result.status in FAILED or result.status == Status.DEVIATION:
            line += f": {result.reason}"
        print(line)
    passed = sum(counts[status] for status in PASSED)
    failed = sum(counts[status] for status in FAILED)
    skipped = counts[Status.SKIPPED]
    print()
    print(f"conformance: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
