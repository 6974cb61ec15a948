"""Helpers shared by the tests (fake upstream servers and the like)."""
