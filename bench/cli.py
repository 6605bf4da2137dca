"""How long `kiosk --help` and the other quick commands take, beside `python -c pass`.

    .venv/bin/python -m bench.cli [RUNS]

The budget (issue: "Fast CLI") is 3 × the interpreter's own start-up: a command that does not
serve must not import the server. Runs alternate so that the machine's noise hits all alike.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

KIOSK = Path(sys.executable).parent / "kiosk"
COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "kiosk --help": [str(KIOSK), "--help"],
    "kiosk serve --help": [str(KIOSK), "serve", "--help"],
    "kiosk user --help": [str(KIOSK), "user", "--help"],
}
BUDGET = 3.0


def run(runs: int = 20) -> dict[str, float]:
    """Median wall time of each command, in seconds."""
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, argv in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def table(medians: dict[str, float]) -> str:
    base = medians["python -c pass (baseline)"]
    rows = ["| command | median | × python -c pass | budget |", "|---|---|---|---|"]
    for name, value in medians.items():
        ratio = value / base
        verdict = "" if name.startswith("python") else ("met" if ratio <= BUDGET else "MISSED")
        rows.append(f"| `{name}` | {value * 1000:.0f} ms | {ratio:.2f} × | {verdict} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20)))
