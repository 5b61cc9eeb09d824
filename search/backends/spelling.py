"""'Did you mean': corrections for misspelt or near-miss queries.

The vocabulary is the domain dictionary plus the words of the index (with how many listings hold
each). A query is scanned left to right; a stretch of Chinese that is not a known word is replaced
by a known word that

- sounds the same (same toneless pinyin: 青棵 → 青稞, 冰湖溃绝 → 冰湖溃决, 光扶 → 光伏), or
- differs by one character, for words of three characters or more, or two-character words of the
  domain dictionary (藏香豬 → 藏香猪, 耗牛 → 牦牛);

a Latin word is replaced by a known word at edit distance one (solr → solar). Among several
candidates the most frequent wins. Nothing is suggested when every word is known.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from pypinyin import lazy_pinyin

from search import analysis

MAX_WINDOW = 8
_CJK = re.compile(r"[\u3400-\u9fff]+")
_LATIN = re.compile(r"[a-z][a-z0-9]{2,}")
_pinyin_cache: dict[str, str] = {}
_cache_lock = threading.Lock()


def pinyin_key(word: str) -> str:
    key = _pinyin_cache.get(word)
    if key is None:
        key = " ".join(lazy_pinyin(word))
        with _cache_lock:
            if len(_pinyin_cache) > 500_000:
                _pinyin_cache.clear()
            _pinyin_cache[word] = key
    return key


def _substitution_keys(word: str) -> list[str]:
    return [word[:i] + "\0" + word[i + 1 :] for i in range(len(word))]


def _deletion_keys(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _within_one_edit(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


@dataclass
class _Scan:
    starts: set[int]
    ends: set[int]
    bad: set[int]


class Suggester:
    def __init__(self, vocabulary: Mapping[str, int], curated: frozenset[str] = frozenset()):
        self.freq: dict[str, int] = dict(vocabulary)
        self.by_pinyin: dict[str, tuple[str, int]] = {}
        self.by_substitution: dict[str, list[str]] = {}
        self.by_deletion: dict[str, list[str]] = {}
        for word, freq in self.freq.items():
            if _CJK.fullmatch(word):
                if 2 <= len(word) <= MAX_WINDOW:
                    key = pinyin_key(word)
                    best = self.by_pinyin.get(key)
                    if best is None or freq > best[1]:
                        self.by_pinyin[key] = (word, freq)
                # Two-character words only from the curated dictionary: too many common words are one
                # character apart (奶牛/水牛/牦牛), but 耗牛 → 牦牛 is the classic typo.
                if 3 <= len(word) <= MAX_WINDOW or (len(word) == 2 and word in curated):
                    for key in _substitution_keys(word):
                        self.by_substitution.setdefault(key, []).append(word)
            elif _LATIN.fullmatch(word):
                for key in _deletion_keys(word):
                    self.by_deletion.setdefault(key, []).append(word)

    def known(self, word: str) -> bool:
        return self.freq.get(word, 0) > 0

    def _best(self, candidates, exclude: str) -> str | None:
        ranked = sorted(((self.freq.get(c, 0), c) for c in candidates if c != exclude), reverse=True)
        return ranked[0][1] if ranked and ranked[0][0] > 0 else None

    def _correct_cjk(self, run: str, offset: int, scan: _Scan, substitute: bool) -> str:
        out, i = [], 0
        while i < len(run):
            for length in range(min(MAX_WINDOW, len(run) - i), 1, -1):
                window = run[i : i + length]
                if self.known(window):
                    out.append(window)
                    break
                start, end = offset + i, offset + i + length
                suspect = [k for k in range(length) if start + k in scan.bad]
                if not suspect or start not in scan.starts or end not in scan.ends:
                    continue
                fix = None
                if substitute:
                    keys = [_substitution_keys(window)[k] for k in suspect]
                    fix = self._best((w for key in keys for w in self.by_substitution.get(key, ())), window)
                elif not substitute:
                    hit = self.by_pinyin.get(pinyin_key(window))
                    fix = hit[0] if hit and hit[0] != window else None
                if fix:
                    out.append(fix)
                    break
            else:
                length = 1
                out.append(run[i])
            i += length
        return "".join(out)

    def _scan(self, text: str) -> _Scan:
        """Where the query's words start and end, and which characters are in words the index does not know."""
        scan = _Scan(set(), set(), set())
        for token in analysis.query_tokens(text):
            for match in re.finditer(re.escape(token), text):
                scan.starts.add(match.start())
                scan.ends.add(match.end())
                if _CJK.fullmatch(token) and not self.known(token):
                    scan.bad.update(range(match.start(), match.end()))
        return scan

    def _correct_latin(self, word: str) -> str:
        if self.known(word):
            return word
        candidates = {w for key in _deletion_keys(word) for w in self.by_deletion.get(key, ())}
        return self._best((w for w in candidates if _within_one_edit(word, w)), word) or word

    def suggest(self, query: str) -> str | None:
        text = analysis.normalise(query).strip()
        if not text:
            return None
        scan = self._scan(text)
        fixed = text
        if scan.bad:
            # Same-sounding words first; a one-character substitution only when no homophone fits.
            for substitute in (False, True):
                fixed = _CJK.sub(lambda m, sub=substitute: self._correct_cjk(m.group(), m.start(), scan, sub), text)
                if fixed != text:
                    break
        fixed = _LATIN.sub(lambda m: self._correct_latin(m.group()), fixed)
        return fixed if fixed != text else None
