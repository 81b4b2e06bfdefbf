"""Test doubles users can run against their own agents: a stub model server, a local model.

Nothing here is imported by the engine; it is for tests, benchmarks and examples.
"""
