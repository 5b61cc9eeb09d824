"""Highlighted snippets cut from stored text (title, summary) around the words a query matched.

The engine indexes pre-analysed tokens, not the original text, so snippets are made here: find
the query's words (and their synonyms and parts) in the stored original, pick the window with
the most matches, HTML-escape it and wrap each match in <em>. The output is safe HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape  # what django.utils.html.escape does for a str, without its lazy-string wrapper

from search import analysis

SNIPPET_CHARS = 120


def match_pattern(terms: Iterable[str]) -> re.Pattern | None:
    words = sorted({t for t in terms if t}, key=len, reverse=True)
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in words))


def _searchable(text: str) -> str:
    """A lower-cased copy with the same length as the original, so offsets carry over."""
    folded = analysis.normalise(text)
    return folded if len(folded) == len(text) else text.lower()


def _mark(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out, pos = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(escape(text[pos:s]))
        out.append(f"<em>{escape(text[s:e])}</em>")
        pos = e
    out.append(escape(text[pos:end]))
    return "".join(out)


def highlight(text: str, pattern: re.Pattern | None, max_chars: int = SNIPPET_CHARS) -> str | None:
    """The best window of ``text`` with matches marked, or None when nothing matches."""
    if not text or pattern is None:
        return None
    spans = [m.span() for m in pattern.finditer(_searchable(text))]
    if not spans:
        return None
    if len(text) <= max_chars:
        return _mark(text, spans, 0, len(text))
    # The window starting a little before a match that covers the most matches.
    best_start, best_count = 0, -1
    for s, _e in spans:
        start = max(0, min(s - max_chars // 6, len(text) - max_chars))
        count = sum(1 for a, b in spans if a >= start and b <= start + max_chars)
        if count > best_count:
            best_start, best_count = start, count
    end = best_start + max_chars
    prefix = "…" if best_start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return prefix + _mark(text, spans, best_start, end) + suffix
