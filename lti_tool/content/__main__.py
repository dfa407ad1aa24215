"""Run the content CLI directly: ``python -m lti_tool.content validate``."""

from .cli import content

if __name__ == "__main__":
    content(prog_name="python -m lti_tool.content")
