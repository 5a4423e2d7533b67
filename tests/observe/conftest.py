"""The intake tests' fixtures: a tiny election, a token per role, an app around it."""

from tests.intake.conftest import client, tiny_db, tokens

__all__ = ["client", "tiny_db", "tokens"]
