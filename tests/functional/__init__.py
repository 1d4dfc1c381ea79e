"""Functional tests: a package, so modules may share basenames with tests/unit/rules."""
