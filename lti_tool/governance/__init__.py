"""Data governance: what the tool holds about people, subject rights, retention, audit log.

Services here take a SQLAlchemy session and plain values, flush and never commit; the CLI
(`lti-tool data ...`) and the console pages under /admin/data commit.
"""
