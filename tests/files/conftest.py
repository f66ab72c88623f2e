"""Fixtures of the files tests."""

from tests.files.factories import make_file

__all__ = ["make_file"]
