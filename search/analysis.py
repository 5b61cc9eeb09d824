"""Chinese text analysis shared by every search backend.

Both backends index text that was segmented here, so a word is the same word whichever engine
answers: the embedded engine indexes whitespace-separated tokens and expands synonyms at query
time; the cluster backend receives the same pre-analysed text and builds a synonym_graph filter
from ``synonym_groups()``.

- Index side (``tokens``/``analyze``): rjieba's search mode, so a long word is indexed whole *and*
  by the dictionary words inside it (青稞酒 → 青稞, 青稞酒), which lets a short query find it.
- Query side (``query_tokens``): rjieba's precise mode — the words the user meant, each then
  matched against the whole word, its synonyms, or its parts (see the embedded backend).
- The domain dictionary (data/userdict.txt) and every synonym keep their words whole; stopwords
  (data/stopwords.txt) and punctuation are dropped; text is NFKC-normalised and lower-cased.
- Chinese patent numbers (ZL201710601862.3, CN…, 201710601862.3) become one token: the bare
  application number, so any of the written forms finds the listing.
- Related terms (data/related.txt, ``related``): one-way, query side only — 储能 also looks for 蓄热
  and 锂电池, at a low weight (``RELATED_WEIGHT``), in both backends.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import rjieba

DATA_DIR = Path(__file__).resolve().parent / "data"
USERDICT_PATH = DATA_DIR / "userdict.txt"
SYNONYMS_PATH = DATA_DIR / "synonyms.txt"
STOPWORDS_PATH = DATA_DIR / "stopwords.txt"
RELATED_PATH = DATA_DIR / "related.txt"

DEFAULT_FREQ = 500
# A listing found through a related term only scores this share of a listing holding the typed word
# (the best related term counts, not their sum), so it ranks after the listings holding what was typed.
RELATED_WEIGHT = 0.25
_PATENT = re.compile(
    r"(?<![0-9a-z])(?:(?:zl|cn)\s*(\d{12}|\d{8})(?:\s*\.\s*[0-9x])?|(\d{12}|\d{8})\s*\.\s*[0-9x])(?![0-9a-z])"
)
_lock = threading.Lock()


def _data_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def normalise(text: str) -> str:
    """Full-width to half-width, compatibility forms folded, lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


@functools.cache
def domain_terms() -> tuple[str, ...]:
    """The words of the domain dictionary, as written there (used for autocomplete and suggestions)."""
    return tuple(line.split()[0] for line in _data_lines(USERDICT_PATH))


@functools.cache
def domain_term_set() -> frozenset[str]:
    """The dictionary's words, normalised like tokens."""
    return frozenset(normalise(t) for t in domain_terms())


@functools.cache
def synonym_groups() -> list[list[str]]:
    """One list per line of data/synonyms.txt, members normalised, each group at least two words."""
    groups = []
    for line in _data_lines(SYNONYMS_PATH):
        members = list(dict.fromkeys(normalise(m).strip() for m in line.split(",") if m.strip()))
        if len(members) >= 2:
            groups.append(members)
    return groups


@functools.cache
def _synonym_map() -> dict[str, tuple[str, ...]]:
    mapping: dict[str, list[str]] = {}
    for group in synonym_groups():
        for member in group:
            alternatives = mapping.setdefault(member, [member])
            alternatives.extend(m for m in group if m not in alternatives)
    return {word: tuple(alts) for word, alts in mapping.items()}


@functools.cache
def related_map() -> dict[str, tuple[str, ...]]:
    """data/related.txt: term → its related terms (normalised, in file order, a term's lines merged)."""
    mapping: dict[str, list[str]] = {}
    for number, line in enumerate(_data_lines(RELATED_PATH), start=1):
        term, sep, rest = line.partition(":")
        term = normalise(term).strip()
        if not sep or not term:
            raise ValueError(f"{RELATED_PATH.name}: line {number} should read 'term: related, related'")
        targets = mapping.setdefault(term, [])
        for item in rest.split(","):
            item = normalise(item).strip()
            if item and item != term and item not in targets:
                targets.append(item)
    return {term: tuple(targets) for term, targets in mapping.items() if targets}


@functools.cache
def related(word: str) -> tuple[tuple[str, ...], ...]:
    """The related terms of a query word (its synonyms' too), each as the words a query of it would have.

    What the word itself, its synonyms or its dictionary parts already match is left out. A related term
    of several words (供水管网 → 供水 + 管网) matches a listing holding all of them.
    """
    word = normalise(word).strip()
    (own,) = expand([word])
    known = set(own) | set(subwords(word))
    mapping = related_map()
    out: dict[tuple[str, ...], None] = {}
    for member in own:
        for term in mapping.get(member, ()):
            if term in known:
                continue
            words = tuple(query_tokens(term))
            # 净水设备 → 净水 + 设备 holds the word itself: the word's own clause finds those already.
            if words and not set(words) <= known and not set(words) & set(own):
                out.setdefault(words, None)
    # A term needing all of 抗 + 缺氧 adds nothing when 缺氧 alone is already there.
    kept = [w for w in out if not any(o != w and set(o) <= set(w) for o in out)]
    return tuple(kept)


@functools.cache
def stopwords() -> frozenset[str]:
    return frozenset(normalise(w) for w in _data_lines(STOPWORDS_PATH))


@functools.cache
def _segmenter() -> rjieba.Jieba:
    """rjieba with the domain dictionary and every synonym added; built once per process."""
    with _lock:
        jieba = rjieba.Jieba()
        for line in _data_lines(USERDICT_PATH):
            parts = line.split()
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else DEFAULT_FREQ
            tag = parts[2] if len(parts) > 2 else None
            jieba.add_word(normalise(parts[0]), freq, tag)
        for group in synonym_groups():
            for member in group:
                if not jieba.has_word(member):
                    jieba.add_word(member, DEFAULT_FREQ, None)
        return jieba


_WORDLIKE = re.compile(r"[^\W_]")


def _keep(token: str, stop: frozenset[str]) -> bool:
    return bool(token) and token not in stop and (token.isalnum() or _WORDLIKE.search(token) is not None)


def _split_patents(text: str) -> tuple[list[str], str]:
    numbers = [m.group(1) or m.group(2) for m in _PATENT.finditer(text)]
    return numbers, _PATENT.sub(" ", text) if numbers else text


def tokens(text: str) -> list[str]:
    """Index-side tokens: search-mode segmentation (whole words plus their dictionary parts)."""
    numbers, rest = _split_patents(normalise(text))
    stop = stopwords()
    words = (w.strip() for w in _segmenter().cut_for_search(rest, hmm=True))
    return numbers + [w for w in words if _keep(w, stop)]


def analyze(text: str) -> str:
    """What gets indexed into the full-text fields: tokens joined by single spaces."""
    return " ".join(tokens(text))


def query_tokens(q: str) -> list[str]:
    """Query-side tokens: precise segmentation, without duplicates, in the order typed."""
    numbers, rest = _split_patents(normalise(q))
    stop = stopwords()
    words = (w.strip() for w in _segmenter().cut(rest, hmm=True))
    return list(dict.fromkeys(numbers + [w for w in words if _keep(w, stop)]))


def subwords(token: str) -> list[str]:
    """The dictionary words inside a longer word (太阳能发电 → 太阳, 太阳能, 发电); empty when none."""
    if len(token) < 3:
        return []
    stop = stopwords()
    parts = [w for w in _segmenter().cut_for_search(token, hmm=False) if w != token and _keep(w, stop)]
    return list(dict.fromkeys(parts))


def expand(tokens_: Iterable[str]) -> list[list[str]]:
    """Alternatives per query token: the token first, then its synonyms."""
    synonyms = _synonym_map()
    return [list(synonyms.get(t, (t,))) for t in tokens_]
