"""Run many seeded random PostgreSQL TLS configurations against `openssl s_client` ground truth.

    python3 -m tools.differential --seeds 200 [--first 1000]

Prints one line per configuration that disagrees (with its seed, to replay it in
tests/test_differential.py) and the totals: configurations run, not started (a setting this
OpenSSL rejects), false refusals, suites s_client could not confirm, false passes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tests.support.differential import compare, random_config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first", type=int, default=1000)
    args = parser.parse_args()
    started = time.monotonic()
    ran = not_started = missed = extra = false_passes = errored = 0
    with tempfile.TemporaryDirectory() as work:
        for seed in range(args.first, args.first + args.seeds):
            result = compare(random_config(seed), Path(work))
            if not result.started:
                not_started += 1
                continue
            ran += 1
            missed += len(result.missed)
            extra += len(result.extra)
            false_passes += len(result.false_passes)
            errored += result.probe_error is not None
            if not result.agrees or result.probe_error:
                print(f"seed {seed}: {result.config}\n  missed {result.missed}\n  extra {result.extra}\n"
                      f"  false passes {result.false_passes}\n  probe error {result.probe_error}", flush=True)
    print(f"{ran} configurations run ({not_started} not started), {missed} false refusals, {extra} suites "
          f"s_client could not confirm, {false_passes} false passes, {errored} where the guard's enumeration "
          f"raised (its checks error), in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
