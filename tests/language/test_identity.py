"""Results kept per object, found by identity."""

from __future__ import annotations

from clinic_env.language.identity import IdentityCache


def test_a_result_is_built_once_per_object_never_for_an_equal_one():
    built: list[tuple[int, ...]] = []

    def build(key: tuple[int, ...]) -> list[int]:
        built.append(key)
        return list(key)

    cache = IdentityCache(build, size=2)
    key, equal = (1, 2, 3), tuple([1, 2, 3])
    assert cache(key) is cache(key)
    assert cache(equal) == cache(key) and cache(equal) is not cache(key)
    assert built == [key, equal]


def test_a_full_cache_starts_again():
    cache = IdentityCache(lambda key: [key], size=2)
    keys = [(i,) for i in range(3)]
    kept = [cache(k) for k in keys]
    assert cache(keys[2]) is kept[2]
    assert cache(keys[0]) is not kept[0] and cache(keys[0]) == kept[0]
