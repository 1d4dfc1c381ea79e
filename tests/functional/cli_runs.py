"""The `rolewarden` CLI run in-process, as a person runs it, for the functional tests."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout

import pytest

from functional.accounts import REGION
from rolewarden.cli.main import main
from rolewarden.observability import logger, metrics


def run_cli(args: Sequence[str], settings: Mapping[str, str]) -> tuple[int, str, str]:
    """`rolewarden ARGS` with only the given ROLEWARDEN_<NAME>=value settings:
    (exit code, stdout, stderr).

    The CLI quiets the shared Powertools logger and counts metrics it never publishes: the
    level is put back and the metrics dropped afterwards, for the handler tests that read
    the log lines and metrics a handler prints.
    """
    out, err = io.StringIO(), io.StringIO()
    level = logger.log_level
    try:
        with pytest.MonkeyPatch.context() as env:
            for name in list(os.environ):
                if name.startswith("ROLEWARDEN_"):
                    env.delenv(name)
            env.setenv("AWS_REGION", REGION)
            for name, value in settings.items():
                env.setenv("ROLEWARDEN_" + name.upper(), value)
            with redirect_stdout(out), redirect_stderr(err):
                code = main(list(args))
    finally:
        logger.setLevel(level)
        metrics.clear_metrics()
    return code, out.getvalue(), err.getvalue()
