"""Markdown to the HTML subset QTextBrowser renders, with highlighted code blocks.

Each fenced code block gets a "Copy" link (``copy:N``) that the chat view handles.
Raw HTML in messages is escaped, never rendered.
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any, cast

COPY_SCHEME = "copy"


@lru_cache(maxsize=2)
def _renderer(dark: bool) -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
    md.enable(["table", "strikethrough"])
    return md


def _highlight(code: str, language: str, dark: bool) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import TextLexer, get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language) if language else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    # Inline styles: QTextBrowser understands span colours but not stylesheets by class.
    formatter = HtmlFormatter(nowrap=True, noclasses=True, style="monokai" if dark else "friendly")
    return str(highlight(code, lexer, formatter))


def code_blocks(text: str) -> list[str]:
    """The fenced code blocks of ``text``, in order (what the Copy links copy)."""
    tokens = _renderer(False).parse(text)
    return [t.content for t in tokens if t.type in ("fence", "code_block")]


def render_markdown(text: str, *, dark: bool = False) -> str:
    """``text`` as HTML for a QTextBrowser; code blocks highlighted with Copy links."""
    md = _renderer(dark)
    tokens = md.parse(text)
    block_bg = "#272822" if dark else "#f4f4f6"
    link = "#8ab4f8" if dark else "#1a5fb4"
    counter = 0
    for token in tokens:
        if token.type in ("fence", "code_block"):
            language = (token.info or "").strip().split(" ")[0]
            body = _highlight(token.content.rstrip("\n"), language, dark)
            label = html.escape(language) if language else "code"
            token.type = "html_block"
            token.content = (
                f'<table width="100%" cellspacing="0" cellpadding="8" '
                f'style="background:{block_bg}; margin:6px 0;"><tr><td>'
                f'<span style="color:#888; font-size:small;">{label}</span>'
                f'&nbsp;&nbsp;<a href="{COPY_SCHEME}:{counter}" style="color:{link}; '
                f'font-size:small; text-decoration:none;">Copy</a>'
                f'<pre style="margin:4px 0 0 0;">{body}</pre></td></tr></table>'
            )
            counter += 1
    # html_block tokens are emitted verbatim even with html=False in the options.
    from markdown_it.utils import OptionsDict

    # An OptionsDict, not a plain dict: the renderer reads options as attributes (breaks).
    options = OptionsDict(cast(Any, {**md.options, "html": True}))
    rendered: str = md.renderer.render(tokens, options, {})
    return rendered
