import pytest

from clinic_env.llm.config import LOCAL_PLACEHOLDER_KEY
from clinic_env.llm.redact import mask_secret, redact

KEY = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345"


def test_the_key_is_masked_before_the_text_is_cut():
    text = "z" * 195 + KEY + " rejected"
    cut = redact(text, KEY, limit=200)
    assert cut.startswith("z" * 195 + "[key]")
    assert KEY[:6] not in cut


@pytest.mark.parametrize("echoed", [KEY[:6], KEY[:20], KEY[:-1]])
def test_a_prefix_the_server_cut_is_masked_too(echoed):
    masked = mask_secret(f"invalid key '{echoed}...' for project", KEY)
    assert masked == "invalid key '[key]...' for project"


def test_short_keys_are_masked_and_the_local_placeholder_is_not():
    assert (
        mask_secret("key abc was refused; abc again", "abc") == "key [key] was refused; [key] again"
    )
    assert mask_secret(f"sent {LOCAL_PLACEHOLDER_KEY}", LOCAL_PLACEHOLDER_KEY).endswith("needed")
    assert mask_secret("nothing to hide", None) == "nothing to hide"


def test_url_credentials_are_stripped_and_text_without_secrets_is_unchanged():
    text = "POST http://ann:s3cret@10.0.0.5:8000/v1/chat/completions failed"
    assert redact(text) == "POST http://10.0.0.5:8000/v1/chat/completions failed"
    assert redact("all fine", KEY, limit=100) == "all fine"
