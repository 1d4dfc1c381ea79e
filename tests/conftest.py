"""Every test process: the SDK's and moto's data loaded once (load_once.py)."""

from __future__ import annotations

import pytest

from load_once import load_aws_managed_policies_once, share_botocore_data_loader


def pytest_configure(config: pytest.Config) -> None:
    share_botocore_data_loader()
    load_aws_managed_policies_once()
