"""How long `import omnillm` takes, and what it imports, next to `import json` as the floor.

Run: ``python bench/import_time.py``. Uses ``python -X importtime`` in fresh interpreters
and reports the best of several runs of the cumulative time of the top-level import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cumulative_us(module: str, runs: int = 9) -> int:
    """Best cumulative import time of ``module`` in microseconds over ``runs`` fresh interpreters."""
    best = None
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        for line in done.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == module:
                value = int(parts[1])
                best = value if best is None else min(best, value)
    assert best is not None
    return best


def main() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    listing = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; b=set(sys.modules); import omnillm; new=set(sys.modules)-b; "
            "print(len(new)); print(sorted(m for m in new if not m.startswith('omnillm')))",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.splitlines()
    print(f"import omnillm: {cumulative_us('omnillm')} us cumulative (best of 9)")
    print(f"import json   : {cumulative_us('json')} us cumulative (floor, best of 9)")
    print(f"modules newly loaded by import omnillm: {listing[0]}; outside the package: {listing[1]}")


if __name__ == "__main__":
    main()
