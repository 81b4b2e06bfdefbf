"""Settings every test run shares, for CI to notice what a plain run would skip.

A test that needs an optional extra (a trainer, Ray, the local model, the web page) skips when
the extra is missing, so the README's test command passes on a fresh machine with ``[dev]``
only. CI must not let such a skip hide a broken extra:

- ``CLINIC_ENV_SKIPPED_FILE=PATH`` writes the id of every skipped test (or module) to PATH;
- ``CLINIC_ENV_REQUIRE_EXTRAS=1`` turns any skip into a failure of the run.

``.ci/run`` runs the README's command with the first, then re-runs what it skipped in a venv
with every extra, with the second.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_skipped: list[tuple[str, str]] = []


def _record(report: pytest.CollectReport | pytest.TestReport) -> None:
    if report.skipped:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report)
        _skipped.append((report.nodeid, str(reason)))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _record(report)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _record(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if path := os.environ.get("CLINIC_ENV_SKIPPED_FILE"):
        Path(path).write_text("".join(f"{node}\n" for node, _ in _skipped), encoding="utf-8")
    if os.environ.get("CLINIC_ENV_REQUIRE_EXTRAS") and _skipped:
        lines = "\n".join(f"  {node}: {reason}" for node, reason in _skipped)
        print(f"\nCLINIC_ENV_REQUIRE_EXTRAS is set, but {len(_skipped)} skipped:\n{lines}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
