"""Configuration from the environment, and the generated secret key."""

from __future__ import annotations

from lti_tool.config import Config, instance_secret_key


def test_environment_variables_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("LTI_TOOL_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("LTI_TOOL_BASE_URL", "https://tool.example.ac.uk/")
    monkeypatch.setenv("LTI_TOOL_KEYS_DIR", str(tmp_path / "k"))
    monkeypatch.setenv("LTI_TOOL_SANDBOX", "yes")
    config = Config()
    assert config.SQLALCHEMY_DATABASE_URL == "postgresql+psycopg://u@h/db"
    assert config.BASE_URL == "https://tool.example.ac.uk"  # trailing slash dropped
    assert config.KEYS_DIR == tmp_path / "k"
    assert config.SANDBOX_ENABLED is True


def test_default_database_is_sqlite_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("LTI_TOOL_DATABASE_URL", raising=False)
    monkeypatch.setenv("LTI_TOOL_INSTANCE_DIR", str(tmp_path))
    assert Config().SQLALCHEMY_DATABASE_URL == f"sqlite:///{tmp_path / 'lti_tool.sqlite3'}"


def test_secret_key_is_generated_once_and_private(tmp_path):
    first = instance_secret_key(tmp_path)
    assert len(first) == 64
    assert instance_secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
