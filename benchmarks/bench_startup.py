"""What the plugin costs a pytest run that gates nothing. Prints figures; asserts nothing.

    python -m benchmarks.bench_startup [--runs 15]

Times, as whole processes, ``pytest`` in an empty directory with the plugin installed and with
``-p no:aurora_guard``, alternately, and prints the median of each and their difference.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def once(directory: str, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra], cwd=directory,
                   capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        once(directory)  # warm the file cache and the .pyc files
        with_plugin, without = [], []
        for _ in range(args.runs):
            with_plugin.append(once(directory))
            without.append(once(directory, "-p", "no:aurora_guard"))
    a, b = statistics.median(with_plugin), statistics.median(without)
    print(f"empty pytest run, median of {args.runs}: with the plugin {a * 1000:.0f} ms, "
          f"without {b * 1000:.0f} ms, difference {(a - b) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
