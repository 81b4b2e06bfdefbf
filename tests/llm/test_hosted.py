import pytest

from clinic_env.llm.errors import FatalCallError, RetryableCallError
from clinic_env.llm.hosted import call_error, missing_key


class AuthenticationError(Exception):
    pass


@pytest.mark.parametrize(
    "message",
    [
        "litellm.InternalServerError: OpenAIException - Missing credentials. Please pass an "
        "`api_key` or set the `OPENAI_API_KEY` environment variable.",
        "The api_key client option must be set either by passing api_key to the client",
        "No API key provided.",
    ],
)
def test_a_failure_that_says_the_key_is_missing_is_fatal(message):
    assert isinstance(call_error(RuntimeError(message), ()), FatalCallError)


def test_fatal_kinds_are_fatal_and_the_rest_retryable():
    assert isinstance(
        call_error(AuthenticationError("bad key"), (AuthenticationError,)), FatalCallError
    )
    error = call_error(TimeoutError("read timed out"), (AuthenticationError,))
    assert isinstance(error, RetryableCallError) and "TimeoutError" in str(error)


def test_a_hosted_provider_needs_its_variable_unless_a_key_is_given(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert missing_key("anthropic/claude-3-haiku", None) == "ANTHROPIC_API_KEY"
    assert missing_key("anthropic/claude-3-haiku", "sk-given") is None
    assert missing_key("some_local_provider/model", None) is None
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-set")
    assert missing_key("anthropic/claude-3-haiku", None) is None
