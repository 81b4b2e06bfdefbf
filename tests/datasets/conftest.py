"""Every dataset test gets an empty cache folder of its own and no route to the internet:
the mirror points at a closed local port unless a test starts its own server."""

from pathlib import Path

import pytest

from tests.helpers.datasets import unreachable_url


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("CLINIC_ENV_CACHE", str(cache))
    monkeypatch.setenv("CLINIC_ENV_DATA_MIRROR", unreachable_url())
    monkeypatch.delenv("CLINIC_ENV_OFFLINE", raising=False)
    return cache
