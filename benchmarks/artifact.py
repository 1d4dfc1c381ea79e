"""The deployed artifact: `sam build`, its sizes, and the cold start of each handler.

Cold start is the time to import a handler module in a fresh interpreter, against a bare
`import boto3` in the same interpreter. Beside them is the floor the design sets: boto3,
one pydantic model and Powertools' Logger, Metrics and Tracer, which every handler needs
before any RoleWarden code runs. The variables Lambda sets are set, so Powertools loads
what it loads there (the X-Ray SDK: the functions trace). With the SAM CLI and the
runtime's Python at hand, all are imported from the built artifact laid out as Lambda
lays it out (the function's directory, then the layer's `python/`; no site-packages; only
the bytecode the build ships, as Lambda's /var/task and /opt are read-only). Otherwise
they are imported from the development virtualenv, and the table says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = "python3.13"  # the template's Runtime / BuildMethod
FUNCTION = "SweepFunction"  # every function is built from the same CodeUri
LAYER = "DependenciesLayerX86"  # the layer of Architecture=x86_64
HANDLERS = (
    "rolewarden.handlers.config_rule",
    "rolewarden.handlers.events",
    "rolewarden.handlers.sweep",
    "rolewarden.handlers.remediate",
)
BARE = "boto3"
FLOOR = "boto3, pydantic, Powertools"
# What every handler imports and builds before RoleWarden's own code: the settings and
# event models are pydantic, the logs, metrics and traces Powertools'.
FLOOR_STATEMENTS = """\
import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from pydantic import BaseModel
class Settings(BaseModel):
    region: str
Logger(service="floor"), Metrics(namespace="floor")
Tracer(service="floor", patch_modules=["botocore"])"""
TIMER = """\
import time
s = time.perf_counter()
{statements}
print(time.perf_counter() - s)"""


def runtime_python() -> str | None:
    """The runtime's interpreter itself (pyenv shims only work with PYENV_VERSION set)."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    version = RUNTIME.removeprefix("python")
    candidates = sorted(pyenv_root.glob(f"versions/{version}*/bin/{RUNTIME}"))
    if candidates:
        return str(candidates[-1])
    found = shutil.which(RUNTIME)
    return found if found and "/shims/" not in found else None


def sam_cli() -> str | None:
    local = ROOT / ".venv-tools" / "bin" / "sam"
    return str(local) if local.exists() else shutil.which("sam")


def sam_build(build_dir: Path, python: str, sam: str) -> subprocess.CompletedProcess[str]:
    """`sam build` for x86_64 (this machine; the template's default is arm64)."""
    environment = os.environ | {
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}",
        "SAM_CLI_TELEMETRY": "0",
    }
    return subprocess.run(
        [
            sam, "build",
            "--template-file", str(ROOT / "template.yaml"),
            "--base-dir", str(ROOT),
            "--build-dir", str(build_dir),
            "--parameter-overrides", "Architecture=x86_64",
        ],
        env=environment, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


@dataclass
class Artifact:
    where: str  # "built artifact (python3.13)" or why not
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (unzipped, zip)
    imports: dict[str, float] = field(default_factory=dict)  # BARE, FLOOR, module -> seconds

    def ratio(self, module: str) -> float:
        return self.imports[module] / self.imports[BARE]


def measure_artifact(runs: int) -> Artifact:
    python, sam = runtime_python(), sam_cli()
    if python is None or sam is None:
        missing = RUNTIME if python is None else "the SAM CLI (make lint installs it)"
        return _in_virtualenv(runs, f"development virtualenv ({missing} not found: no build)")
    with tempfile.TemporaryDirectory() as directory:
        build = Path(directory) / "build"
        completed = sam_build(build, python, sam)
        if completed.returncode != 0:
            sys.stderr.write(completed.stdout + completed.stderr)
            return _in_virtualenv(runs, "development virtualenv (sam build failed)")
        artifact = Artifact(where=f"built artifact, {RUNTIME}")
        function, layer = build / FUNCTION, build / LAYER
        artifact.sizes = {"function": _sizes(function), "layer": _sizes(layer)}
        command = [python, "-S", "-c"]
        path = os.pathsep.join([str(function), str(layer / "python")])
        environment = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": path,
            "PYTHONDONTWRITEBYTECODE": "1",
            **_in_lambda(function),
        }
        artifact.imports = _import_times(command, environment, runs)
    return artifact


def _in_virtualenv(runs: int, where: str) -> Artifact:
    artifact = Artifact(where=where)
    environment = dict(os.environ) | _in_lambda(ROOT / "functions")
    artifact.imports = _import_times([sys.executable, "-c"], environment, runs)
    return artifact


def _in_lambda(task_root: Path) -> dict[str, str]:
    """What the Lambda runtime sets that decides what a handler module loads."""
    return {
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": "rolewarden-bench",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "rolewarden-bench",
        "POWERTOOLS_METRICS_NAMESPACE": "RoleWarden",
    }


def _import_times(command: list[str], environment: dict[str, str], runs: int) -> dict[str, float]:
    """The fastest of `runs` imports of each module (and the floor), each in a fresh
    interpreter. Runs are interleaved, and the fastest is kept because a slower run is the
    machine's doing (other processes, a shared CPU), not the code's: on the 2-core VM that
    measured it, medians moved by a third between runs, the fastest much less."""
    statements = {BARE: f"import {BARE}", FLOOR: FLOOR_STATEMENTS} | {
        module: f"import {module}" for module in HANDLERS
    }
    samples: dict[str, list[float]] = {name: [] for name in statements}
    for _run in range(runs):
        for name, times in samples.items():
            completed = subprocess.run(
                [*command, TIMER.format(statements=statements[name])],
                env=environment, capture_output=True, text=True, check=True,
            )  # fmt: skip
            times.append(float(completed.stdout.strip().splitlines()[-1]))
    return {name: min(times) for name, times in samples.items()}


def _sizes(directory: Path) -> tuple[int, int]:
    """Bytes unzipped, and zipped as `sam deploy` uploads it."""
    files = [path for path in directory.rglob("*") if path.is_file()]
    unzipped = sum(path.stat().st_size for path in files)
    with tempfile.TemporaryDirectory() as work:
        archive = Path(work) / "artifact.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in files:
                zipped.write(path, path.relative_to(directory))
        return unzipped, archive.stat().st_size
