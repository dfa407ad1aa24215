"""Tests of the content engine (lti_tool.content)."""
