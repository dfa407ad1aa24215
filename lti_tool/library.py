"""The app's content library, loaded once per process on first use."""

from __future__ import annotations

from flask import current_app

from .content import Library


def get_library() -> Library:
    """The module library for this app (shipped packages plus the versioned store)."""
    library = current_app.extensions.get("lti_tool.library")
    if library is None:
        library = Library.from_packages(current_app.config["CONTENT_DIR"],
                                        current_app.config["CONTENT_STORE"])
        current_app.extensions["lti_tool.library"] = library
    return library
