"""Markdown to safe HTML: raw HTML in articles is escaped, javascript: links are refused."""

from __future__ import annotations

from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_markdown(text: str) -> str:
    return _md.render(text)
