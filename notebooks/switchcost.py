"""Helpers the notebooks share: find the switchcost binaries and read their machine-readable output.

The notebooks never parse text tables: they call `sim ... --json/--csv` and `calibrate --json`
and load the results with pandas. Set SWITCHCOST_SIM / SWITCHCOST_CALIBRATE to use prebuilt
binaries; otherwise they are built once with cargo (release profile).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent


class SwitchcostError(RuntimeError):
    """A switchcost command failed; the message carries its stderr."""


def _cargo_binary(package: str, binary: str, env_var: str) -> Path:
    override = os.environ.get(env_var)
    if override:
        path = Path(override)
        if not path.is_file():
            raise SwitchcostError(f"{env_var}={override} is not a file; unset it or point it at the binary")
        return path
    cargo = shutil.which("cargo")
    if cargo is None:
        raise SwitchcostError(f"cargo is not on PATH; install Rust or set {env_var} to a prebuilt {binary}")
    subprocess.run(
        [cargo, "build", "--release", "--quiet", "-p", package, "--bin", binary],
        cwd=REPO,
        check=True,
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "release" / binary


@lru_cache(maxsize=None)
def sim_binary() -> Path:
    """Path to the `sim` binary (built on first use)."""
    return _cargo_binary("sim", "sim", "SWITCHCOST_SIM")


@lru_cache(maxsize=None)
def calibrate_binary() -> Path:
    """Path to the `calibrate` binary (built on first use)."""
    return _cargo_binary("micro", "calibrate", "SWITCHCOST_CALIBRATE")


def _run(binary: Path, args: list[str]) -> str:
    proc = subprocess.run([str(binary), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SwitchcostError(f"{binary.name} {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc.stdout


def sim(*args: str) -> str:
    """Runs `sim ARGS...` quietly and returns its stdout."""
    return _run(sim_binary(), [*args, "--quiet"])


def sim_json(*args: str):
    """Runs `sim ARGS... --json` and returns the parsed JSON.

    A run that completed no request has `null` latencies (None here; NaN once in a DataFrame),
    never 0; `sim_csv` gives NaN for the same empty fields.
    """
    return json.loads(sim(*args, "--json"))


def sim_csv(*args: str) -> pd.DataFrame:
    """Runs `sim ARGS... --csv` and returns the table as a DataFrame."""
    return pd.read_csv(io.StringIO(sim(*args, "--csv")))


def flatten(records: list[dict]) -> pd.DataFrame:
    """Flattens nested result objects: latency_ms.p99 becomes the column `latency_ms.p99`."""
    return pd.json_normalize(records)


def column(frame: pd.DataFrame, *candidates: str) -> str:
    """The first of `candidates` that is a column of `frame` (CSV and JSON spell nested fields differently)."""
    for name in candidates:
        if name in frame.columns:
            return name
    raise KeyError(f"none of {candidates} in columns {list(frame.columns)}")


def scenario_file(text: str) -> Path:
    """Writes a scenario to a temporary .toml file and returns its path."""
    handle = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    handle.write(text)
    handle.close()
    return Path(handle.name)


def calibration(quick: bool = True) -> dict:
    """This machine's costs from `calibrate --json` (a short budget when quick)."""
    args = ["--json", "--quiet"]
    if quick:
        args.append("--quick")
    return json.loads(_run(calibrate_binary(), args))


def criterion_estimates(root: Path | None = None) -> pd.DataFrame:
    """Criterion's mean estimates (ns) under target/criterion, one row per group/function; empty if none ran.

    estimates.json is Criterion's undocumented working file (no documented route exists for
    `cargo bench`); the workspace pins Criterion exactly and micro's tests read a real run's
    file, see micro/src/calibration.rs.
    """
    root = root or REPO / "target" / "criterion"
    rows = []
    for estimates in sorted(root.glob("*/*/new/estimates.json")):
        data = json.loads(estimates.read_text())
        mean = data["mean"]
        rows.append(
            {
                "group": estimates.parents[2].name,
                "function": estimates.parents[1].name,
                "mean_ns": mean["point_estimate"],
                "ci95_low_ns": mean["confidence_interval"]["lower_bound"],
                "ci95_high_ns": mean["confidence_interval"]["upper_bound"],
            }
        )
    return pd.DataFrame(rows, columns=["group", "function", "mean_ns", "ci95_low_ns", "ci95_high_ns"])
