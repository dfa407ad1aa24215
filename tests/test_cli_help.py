"""`lti-tool --help` lists the tool's own commands, not Flask's."""

from __future__ import annotations

from click.testing import CliRunner

from lti_tool.cli import main


def test_help_shows_the_tools_commands_only():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    commands = result.output.split("Commands:", 1)[1].split()
    assert {"admin", "keys", "platform", "run", "sandbox"} <= set(commands)
    assert "routes" not in commands and "shell" not in commands
    assert "--app" not in result.output and "python-dotenv" not in result.output
