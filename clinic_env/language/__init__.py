"""The language layer: text folding, lexicon, medical knowledge, fact index, diagnosis
matcher, leak guard and phrase rules.

It depends only on the schema and the content files, so that agents and evaluators both
build on it without importing each other.
"""
