"""How long `kiosk --help` and the other quick commands take, beside `python -c pass`.

    .venv/bin/python -m bench.cli [RUNS]

The budget (issue: "Fast CLI") is 3 × the interpreter's own start-up: a command that does not
serve must not import the server. Each command runs twice: from this checkout's venv (an
editable install, whose path finder costs 20–30 ms at every start) and from the built wheel
installed in a venv of its own, as install.sh and pipx give a user. The budget is judged on the
wheel. Runs alternate so that the machine's noise hits all alike.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support import install_wheel

CHECKOUT = Path(sys.executable).parent / "kiosk"
QUICK = {"kiosk --help": ["--help"], "kiosk serve --help": ["serve", "--help"]}
QUICK["kiosk user --help"] = ["user", "--help"]
BASELINE = "python -c pass (baseline)"
BUDGET = 3.0


def run(runs: int = 20) -> dict[str, float]:
    """Median wall time of each command, in seconds."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        installed = install_wheel(Path(tmp)) / "bin" / "kiosk"
        commands = {BASELINE: [sys.executable, "-c", "pass"]}
        for name, args in QUICK.items():
            commands[f"{name} (installed wheel)"] = [str(installed), *args]
            commands[f"{name} (checkout, editable)"] = [str(CHECKOUT), *args]
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, argv in commands.items():
                start = time.perf_counter()
                subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def table(medians: dict[str, float]) -> str:
    base = medians[BASELINE]
    rows = ["| command | median | × python -c pass | budget |", "|---|---|---|---|"]
    for name, value in medians.items():
        ratio = value / base
        judged = name.endswith("(installed wheel)")
        verdict = ("met" if ratio <= BUDGET else "MISSED") if judged else ""
        rows.append(f"| `{name}` | {value * 1000:.0f} ms | {ratio:.2f} × | {verdict} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20)))
