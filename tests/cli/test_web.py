"""``clinic-env web``: what it offers, where it binds, and the warning off loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

import uvicorn

from clinic_env.cli.main import main
from clinic_env.cli.options import RoleChoice
from clinic_env.cli.web import is_loopback, offered
from clinic_env.llm.config import ModelConfig


def test_the_page_offers_the_offline_agents_and_configured_models_but_never_the_oracle():
    model = ModelConfig(model="openai/gpt-4o-mini")
    choices = offered(
        RoleChoice(patient=model, measurement="offline", doctor="systematic", judge=None)
    )
    assert choices["patient"] == {"offline": "offline", "openai/gpt-4o-mini": model}
    assert {"systematic", "random"} <= set(choices["doctor"])
    assert "oracle" not in choices["doctor"] and "human" not in choices["doctor"]
    assert choices["measurement"] == {"offline": "offline"}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
    ],
)
def test_loopback_addresses_are_told_apart(host: str, loopback: bool):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.1", False), ("0.0.0.0", True)])
def test_binding_off_loopback_warns(host: str, warned: bool, tmp_path: Path, monkeypatch, capsys):
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(options))
    assert main(["web", "--runs", str(tmp_path), "--host", host, "--port", "8123"]) == 0
    assert served == {"host": host, "port": 8123, "log_level": "warning"}
    printed = capsys.readouterr()
    assert f"http://{host}:8123/" in printed.out
    assert ("warning: serving on" in printed.err) is warned


def test_a_doctor_the_page_cannot_offer_is_refused_at_start(tmp_path: Path, capsys):
    assert main(["web", "--runs", str(tmp_path), "--doctor", "oracle"]) == 2
    assert "--doctor oracle: the page cannot offer it" in capsys.readouterr().err
