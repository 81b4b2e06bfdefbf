import pytest

from clinic_env.errors import ConfigError
from clinic_env.llm import ModelConfig
from clinic_env.llm.preflight import check_model
from clinic_env.testing.stub_server import StubModelServer


def served(*urls: str, **fields) -> ModelConfig:
    base, *replicas = urls if urls else (None,)
    if fields.pop("all_replicas", False):
        return ModelConfig(model="openai/m", replicas=urls, **fields)
    return ModelConfig(model="openai/m", api_base=base, replicas=tuple(replicas), **fields)


@pytest.mark.parametrize(
    ("url", "wanted"),
    [
        ("127.0.0.1:8000/v1", "is not an http"),
        ("ws://127.0.0.1:8000/v1", "is not an http"),
        ("http://ann:pw@127.0.0.1:99999/v1", "has an invalid port"),
        ("http://127.0.0.1:0/v1", "has an invalid port"),
        ("http://127.0.0.1:port/v1", "has an invalid port"),
    ],
)
def test_a_url_or_port_that_cannot_work_is_named_without_dialling(url, wanted):
    with pytest.raises(ConfigError, match=f"^patient: api_base {wanted}") as error:
        check_model(served(url), "patient", reachable=False)
    assert "pw" not in str(error.value)
    ok = "http://127.0.0.1:8000/v1"
    with pytest.raises(ConfigError, match=rf"^doctor: replicas\[1\] {wanted}"):
        check_model(served(ok, url, all_replicas=True), "doctor", reachable=False)


def test_a_replica_listed_twice_is_refused():
    replicas = ("http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1", "http://10.0.0.1:8000/v1/")
    with pytest.raises(ConfigError, match=r"replica 10.0.0.1:8000 is listed twice"):
        check_model(served(*replicas, all_replicas=True), "patient", reachable=False)
    check_model(served(*replicas[:2], all_replicas=True), "patient", reachable=False)


def test_an_unset_key_variable_is_refused(monkeypatch):
    monkeypatch.delenv("CLINIC_TEST_UNSET_KEY", raising=False)
    config = served("http://127.0.0.1:8000/v1", api_key_env="CLINIC_TEST_UNSET_KEY")
    with pytest.raises(ConfigError, match=r"CLINIC_TEST_UNSET_KEY .* is not set"):
        check_model(config, "judge", reachable=False)


def test_every_replica_is_dialled_and_an_error_names_host_and_port_only():
    with StubModelServer() as first, StubModelServer() as second:
        live = (first.base_url, second.base_url)
        check_model(served(*live, all_replicas=True), "patient")
        dead = second.base_url.replace("http://", "http://user7:s3cret@")
    with StubModelServer() as third:
        config = served(third.base_url, dead, all_replicas=True)
        with pytest.raises(ConfigError, match=r"cannot reach the server at 127\.0\.0\.1:") as error:
            check_model(config, "patient")
    assert "s3cret" not in str(error.value) and "user7" not in str(error.value)
