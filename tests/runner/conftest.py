"""Fixtures shared by the runner tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clinic_env.runner.ray_runner import init_ray


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray instance per module (~20 s to start on two cores), stopped after it."""
    ray = pytest.importorskip("ray")
    started = init_ray(num_cpus=2)
    yield
    if started:
        ray.shutdown()
