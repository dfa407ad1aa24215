"""Class view tests."""
