"""Data the SDK and moto load again for every session and account, loaded once per process.

Only the loading changes: each session, client and moto account gets the same data as
before, as new objects where it could change them.

- botocore gives every Session a loader of its own, so a new Session (most tests and
  every handler invocation make one) parses endpoints.json and each service's model
  again: about 0.3 s of CPU for five clients. The data files are read-only and the loader
  caches what it parsed, so one loader per search path serves every Session.
- moto builds an account's IAM backend for every partition (six: its own, and the others
  that `get_account_id_from` looks at on every request), and with
  MOTO_IAM_LOAD_MANAGED_POLICIES each parses its 4.7 MB of AWS managed policies; a
  reset builds them all again before throwing them away. That was two thirds of what
  seeding the demo account costs. Here the policies are parsed once, and only the `aws`
  partition, the only one the tests use, gets them. The policy objects are new for each
  backend: attaching one counts on it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import botocore.loaders
import botocore.session
from moto import settings as moto_settings
from moto.iam import models as moto_iam
from moto.iam.aws_managed_policies import aws_managed_policies_data


def share_botocore_data_loader() -> None:
    """Every botocore Session of this process uses one loader per data path."""
    if not hasattr(botocore.session.create_loader, "cache_info"):
        botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


def load_aws_managed_policies_once() -> None:
    """moto's IAM backends build the AWS managed policies from data parsed once."""
    moto_iam.IAMBackend._init_aws_policies = _aws_managed_policies  # type: ignore[method-assign,assignment]


@functools.cache
def _aws_managed_policy_fields() -> tuple[tuple[str, dict[str, Any]], ...]:
    """What moto's `AWSManagedPolicy.from_data` takes from each policy's data."""
    return tuple(
        (
            name,
            {
                "default_version_id": data.get("DefaultVersionId"),
                "path": data.get("Path"),
                "document": json.dumps(data.get("Document")),
                "create_date": datetime.fromisoformat(data["CreateDate"]),
                "update_date": datetime.fromisoformat(data["UpdateDate"]),
            },
        )
        for name, data in json.loads(aws_managed_policies_data).items()
    )


def _aws_managed_policies(backend: Any) -> list[Any]:
    if backend.partition != "aws" or not moto_settings.load_iam_aws_managed_policies():
        return []
    new: Callable[..., Any] = moto_iam.AWSManagedPolicy
    return [
        new(name, account_id=backend.account_id, region=backend.region_name, **fields)
        for name, fields in _aws_managed_policy_fields()
    ]
