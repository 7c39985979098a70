"""The by-hand scale run takes most of an hour at 1,000,000 owners: its test gets a timeout of its size instead of
the suite's 300 s (pyproject.toml), which killed the first 1,000,000-owner run five minutes in."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    owners = config.getoption("--bench-owners")
    if not owners:
        return
    for item in items:
        if item.name == "test_scale_at_the_size_asked":
            item.add_marker(pytest.mark.timeout(max(900, owners // 100 + 600)))
