"""Content engine: load, validate, render and score capability modules (no Flask, no LTI).

Entry points for the app: ``Library.from_packages(CONTENT_DIR, CONTENT_STORE)`` once, then
``library.modules()`` (picker), ``library.get(id, version)`` (serve or re-score),
``module.render_step(i, asset_url)``, ``module.activity(id).render/feedback/score``,
``module.score(answers, marks=..., completion_credit=...)``, ``module.asset_path(rel)`` and
``import_package(path_or_zip, store)``. Malformed answers raise ``InvalidAnswer``.
"""

from .activities import (
                         ACTIVITY_TYPES,
                         Activity,
                         Confidence,
                         ElementScore,
                         MultipleResponse,
                         Reflection,
                         Scenario,
                         ScoreResult,
                         SingleChoice,
                         activity_type,
                         word_count,
)
from .errors import (
                         ContentError,
                         InvalidAnswer,
                         ModuleNotFound,
                         PackageError,
                         Problem,
                         has_errors,
)
from .frameworks import Framework, FrameworkItem, load_frameworks
from .library import (
                         PACKAGES_ROOT,
                         SHIPPED_FRAMEWORKS,
                         SHIPPED_MODULES,
                         ImportResult,
                         Library,
                         default_store,
                         import_package,
                         validate_package,
)
from .markdown import render_markdown
from .module import (
                         LoadResult,
                         Module,
                         ModuleScore,
                         Page,
                         Reference,
                         load_module,
                         semver_key,
)

__all__ = [
    "ACTIVITY_TYPES", "Activity", "Confidence", "ContentError", "ElementScore", "Framework", "FrameworkItem",
    "ImportResult", "InvalidAnswer", "Library", "LoadResult", "Module", "ModuleNotFound", "ModuleScore",
    "MultipleResponse", "PACKAGES_ROOT", "PackageError", "Page", "Problem", "Reference", "Reflection",
    "SHIPPED_FRAMEWORKS", "SHIPPED_MODULES", "Scenario", "ScoreResult", "SingleChoice", "activity_type",
    "default_store", "has_errors", "import_package", "load_frameworks", "load_module", "render_markdown", "semver_key",
    "validate_package", "word_count",
]
