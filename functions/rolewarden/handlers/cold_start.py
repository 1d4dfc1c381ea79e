"""A cold start is the import of a handler module: RoleWarden's own modules load with the
garbage collector paused.

They create tens of thousands of objects that live as long as the function (classes,
functions, rule and policy tables) and almost no garbage, yet each 2,000 of them start a
collection: about fifty while a handler loads, a third of RoleWarden's import time. The
libraries every function needs load first, as in any Lambda function, with the collector
on. Once loaded, the modules' objects are frozen (later collections skip them) and the
collector resumes, whatever the import raised.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import boto3  # noqa: F401 - the libraries load with the collector on, as in any function
import pydantic  # noqa: F401
from aws_lambda_powertools import Logger, Metrics, Tracer  # noqa: F401


@contextmanager
def loading() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
