"""``content`` command group: validate, list and import capability modules."""

from __future__ import annotations

from pathlib import Path

import click

from .errors import Problem, display_path
from .frameworks import check_crosswalks, load_framework, load_frameworks
from .guessing import STRATEGIES, guessing_scores, longest_is_correct
from .library import (
    SHIPPED_FRAMEWORKS,
    SHIPPED_MODULES,
    Library,
    default_store,
    import_package,
    shipped_module_dirs,
    validate_package,
)
from .module import MODULE_FILE, Module
from .timing import estimated_minutes


def _targets(paths: tuple[Path, ...]) -> tuple[list[Path], list[Path]]:
    """Split command-line paths into framework files and packages (folders or zips)."""
    if not paths:
        return sorted(SHIPPED_FRAMEWORKS.glob("*.yaml")), shipped_module_dirs(SHIPPED_MODULES)
    frameworks: list[Path] = []
    packages: list[Path] = []
    for p in paths:
        if p.is_dir() and (p / MODULE_FILE).exists():
            packages.append(p)  # one package
        elif p.is_dir() and ((p / "modules").is_dir() or (p / "frameworks").is_dir()):
            frameworks += sorted((p / "frameworks").glob("*.yaml"))  # content_packages/ itself
            packages += shipped_module_dirs(p / "modules")
        elif p.is_dir():
            frameworks += sorted(p.glob("*.yaml"))  # a frameworks/ or modules/ folder
            packages += shipped_module_dirs(p)
        elif p.suffix in (".yaml", ".yml") and p.name != MODULE_FILE:
            frameworks.append(p)
        else:
            packages.append(p)  # a zip, a module.yaml, or a missing path (reported as such)
    return frameworks, packages


def _echo(problems: list[Problem]) -> None:
    """Print problems as file:line: message, paths relative to the current directory."""
    for p in problems:
        click.echo(p.format())


@click.group("content")
def content() -> None:
    """Capability module packages: validate, list, import."""


@content.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--basic", is_flag=True, help="Skip the shipped-set quality rules (pages, item counts, minutes).")
def validate_cmd(paths: tuple[Path, ...], basic: bool) -> None:
    """Check packages and framework files (default: everything shipped)."""
    fw_files, packages = _targets(paths)
    problems: list[Problem] = []
    shipped_fw = load_frameworks(SHIPPED_FRAMEWORKS, problems)  # modules are checked against these
    extra = {}
    for f in fw_files:
        if f.resolve().parent == SHIPPED_FRAMEWORKS.resolve():
            continue  # already checked by load_frameworks above
        fw = load_framework(f, problems)
        if fw is not None:
            extra[fw.id] = fw
    if extra:
        check_crosswalks({**shipped_fw, **extra}, problems)
    for pkg in packages:
        problems.extend(validate_package(pkg, shipped_fw, strict=not basic).problems)
    _echo(problems)
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    summary = (f"checked {len(packages)} module(s) and {len(fw_files)} framework file(s): "
               f"{errors} error(s), {warnings} warning(s)")
    click.echo(summary)
    if errors:
        click.get_current_context().exit(1)  # problems are already printed; no extra "Error:" line


@content.command("list")
@click.option("--store", type=click.Path(path_type=Path), default=default_store,
              show_default="$LTI_TOOL_CONTENT_STORE or instance/content",
              help="Folder holding imported and served versions.")
@click.option("--stats", is_flag=True,
              help="Show what naive guessing scores in each module instead of the alignment.")
def list_cmd(store: Path, stats: bool) -> None:
    """List modules: id, version, minutes and alignment (or guessing figures)."""
    library = Library(store if store.is_dir() else None)
    modules = library.modules()
    if not modules:
        click.echo("no valid modules; run 'validate' to see why")
    if stats and modules:
        _echo_stats(modules)
        modules = []
    for m in modules:
        align = "; ".join(f"{k}: {', '.join(v)}" for k, v in m.alignment.items())
        click.echo(f"{m.id}  {m.version}  {m.estimated_minutes} min  {align}")
    broken = sum(p.is_error for p in library.problems)
    if broken:
        click.echo(f"({broken} error(s) kept some modules out; run 'validate')")


def _echo_stats(modules: list[Module]) -> None:
    """One row per module: pass mark and each naive strategy's share of its points."""
    click.echo("module  pass  " + "  ".join(f"{s:>14}" for s in STRATEGIES)
               + "  longest-correct  minutes(stated/estimated)")
    click.echo("(each strategy: % of the module's points / % of its auto-marked points)")
    for m in modules:
        scores = guessing_scores(m)
        hits, total = longest_is_correct(m)
        cells = "  ".join(f"{scores[s].percent:>6.0f}% /{scores[s].auto_percent:>4.0f}%"
                          for s in STRATEGIES)
        click.echo(f"{m.id}  {m.pass_mark}%  {cells}  {hits}/{total}  "
                   f"{m.estimated_minutes}/{estimated_minutes(m):.0f}")


@content.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--store", type=click.Path(path_type=Path), default=default_store,
              show_default="$LTI_TOOL_CONTENT_STORE or instance/content",
              help="Folder holding imported and served versions.")
@click.option("--basic", is_flag=True, help="Skip the shipped-set quality rules.")
def import_cmd(source: Path, store: Path, basic: bool) -> None:
    """Validate a package folder or zip and add it to the store."""
    result = import_package(source, store, strict=not basic)
    _echo(result.problems)
    m = result.module
    if m is None or result.path is None:
        raise click.ClickException(f"{source} was not imported: fix the problems above; nothing was changed")
    state = "imported" if result.created else "already present (identical)"
    click.echo(f"{m.id} {m.version} {state} in {display_path(result.path)}")
