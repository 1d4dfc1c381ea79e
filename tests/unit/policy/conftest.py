"""Shared fixtures for the pure policy engine: one catalogue and one baseline per process."""

from __future__ import annotations

import pytest

from rolewarden.policy.catalogue import ActionCatalogue, default_catalogue
from rolewarden.policy.classify import Baseline, load_baseline


@pytest.fixture(scope="session")
def catalogue() -> ActionCatalogue:
    return default_catalogue()


@pytest.fixture(scope="session")
def baseline() -> Baseline:
    return load_baseline()
