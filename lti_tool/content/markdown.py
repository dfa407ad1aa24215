"""Markdown to safe HTML (markdown-it-py + nh3) and checks on images and raw HTML."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .yamlsrc import Source

AssetUrl = Callable[[str], str]

# html=True so raw HTML reaches nh3 and is stripped there, as the format promises, rather than
# being shown to students as literal "<b>" text.
_md = MarkdownIt("commonmark", {"html": True}).enable("table")

_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
for _cell in ("th", "td"):  # markdown-it aligns table columns with inline styles
    _ATTRIBUTES.setdefault(_cell, set()).add("style")

_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def sanitize(html: str) -> str:
    """Clean HTML with nh3: only safe tags, attributes and URL schemes survive."""
    return nh3.clean(html, attributes=_ATTRIBUTES, filter_style_properties={"text-align"})


def render_markdown(text: str, asset_url: AssetUrl | None = None, inline: bool = False) -> str:
    """Markdown to sanitized HTML; package image paths go through ``asset_url``.

    ``inline`` renders without the surrounding <p>, for option and choice labels.
    """
    tokens = _md.parseInline(text or "") if inline else _md.parse(text or "")
    for image in _images(tokens):
        target = package_path(str(image.attrGet("src") or ""))
        if target is None:
            image.attrSet("src", "")  # never let an unchecked path or remote URL through
        elif asset_url is not None:
            image.attrSet("src", asset_url(target))
    return sanitize(_md.renderer.render(tokens, _md.options, {}))


def page_title(text: str) -> str | None:
    """Text of the first level-1 heading, or None."""
    tokens = _md.parse(text or "")
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.tag == "h1" and i + 1 < len(tokens):
            return tokens[i + 1].content.strip() or None
    return None


def package_path(src: str) -> str | None:
    """Normalized package-relative image path, or None when it is remote, absolute or escapes."""
    src = unquote(src.strip())
    if not src or _SCHEME_RE.match(src) or src.startswith(("/", "\\")) or "\\" in src:
        return None
    parts = PurePosixPath(src).parts
    if ".." in parts:
        return None
    return str(PurePosixPath(*[p for p in parts if p != "."])) if parts else None


def check_markdown(text: str, src: Source, first_line: int, root: Path, where: str,
                   exact_lines: bool = True) -> None:
    """Report images without alt text, missing or outside image files, and raw HTML.

    ``first_line`` is the file line of the text's first line. Inside YAML values lines shift
    (folded scalars), so callers pass ``exact_lines=False`` and every problem goes on
    ``first_line``.
    """
    tokens = _md.parse(text or "")
    html_reported = False
    for block in tokens:
        if block.type == "html_block" and not html_reported:
            src.warning(_line(block, first_line, 0, exact_lines),
                        f"raw HTML in {where} is removed when shown; use Markdown instead")
            html_reported = True
        if block.type != "inline" or not block.children:
            continue
        offset = 0
        for child in block.children:
            if child.type in ("softbreak", "hardbreak"):
                offset += 1
            elif child.type == "html_inline" and not html_reported:
                src.warning(_line(block, first_line, offset, exact_lines),
                            f"raw HTML in {where} is removed when shown; use Markdown instead")
                html_reported = True
            elif child.type == "image":
                _check_image(child, src, _line(block, first_line, offset, exact_lines), root, where)


def _line(block: Token, first_line: int, offset: int, exact: bool) -> int:
    if not exact or block.map is None:
        return first_line
    return first_line + block.map[0] + offset


def _check_image(image: Token, src: Source, line: int, root: Path, where: str) -> None:
    raw = image.attrGet("src") or ""
    if not image.content.strip():
        src.error(line, f"image '{raw}' in {where} has no alt text; describe it: ![what it shows]({raw})")
    target = package_path(str(raw))
    if target is None:
        if ".." in str(raw):
            src.error(line, f"image '{raw}' in {where} points outside the package; "
                            "use a path from the package folder such as images/diagram.png (no '../')")
        else:
            src.error(line, f"image '{raw}' in {where} must be a file inside the package, such as "
                            "images/diagram.png (not a web address or absolute path)")
        return
    file = root / target
    try:
        inside = file.resolve().is_relative_to(root.resolve())
    except OSError:
        inside = False
    if not inside:
        src.error(line, f"image '{raw}' in {where} resolves outside the package (symbolic link?); "
                        "copy the file into images/")
    elif not file.is_file():
        src.error(line, f"image '{raw}' in {where} does not exist; add {target} to the package "
                        "(paths are relative to the folder holding module.yaml)")


def _images(tokens: list[Token]) -> Iterator[Token]:
    for tok in tokens:
        for child in tok.children or ():
            if child.type == "image":
                yield child
