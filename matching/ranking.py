"""Re-ranking: the features of a (need, technology) pair, its score, its reasons and the constraints it breaks.

Pure functions over plain profiles — no database, no search engine — so the pages, the API, the
command, the refresh tasks, the evaluation and the weight fitting all score a pair the same way.
docs/matching.md explains the features and how the weights were fitted.

- Key terms of a need: its title and description segmented by search.analysis (the same segmenter,
  domain dictionary and synonyms as the index), each word weighted by how informative it is
  (jieba's general-language IDF table, less a floor, so 我们/想/办法 weigh nothing and 青稞/热斑 a lot;
  title words count more); colloquial fillers (data/fillers.txt: 老是, 想要, 从头到尾) and counted
  amounts (四五天, 十几个) dropped.
- Features (each 0…1): the engine's text score (BM25, relative to the best candidate), the share of
  the need's key-term weight found in the technology (a word, a synonym, or its dictionary parts at
  half credit), same technical field, share of the need's featured-industry tags the technology
  carries, and aid-province origin (a small, policy bonus).
- Hard constraints (maturity ≥ the need's minimum, a transfer mode the need accepts, the lowest
  asking price within the budget when both are known) are not scored: a candidate that breaks one is
  listed with what it breaks, after every candidate of its tier that breaks none. Tiers: good matches
  (score ≥ GOOD_SCORE), then weaker ones; so a close fit over budget ranks after every good fit within
  it, but before loose fits (see order()).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from listings.vocab import Field, Maturity, ModeCode, TagCode, maturity_rank
from marketplace.accounts.models import Organisation
from search import analysis

# ------------------------------------------------------------------ tunables (see docs/matching.md)


@dataclass(frozen=True)
class Weights:
    text: float
    coverage: float
    field: float
    tags: float
    aid: float

    def as_dict(self) -> dict[str, float]:
        return {"text": self.text, "coverage": self.coverage, "field": self.field, "tags": self.tags, "aid": self.aid}


# Fitted by `python manage.py fit_matching_weights --data tests/data/matching` (coordinate ascent on
# nDCG@10, 4-fold cross-validated); aid is a policy bonus set by hand, not fitted. They sum to 1, so a
# score is 0…100.
WEIGHTS = Weights(text=0.379, coverage=0.379, field=0.1, tags=0.118, aid=0.024)
# Below this score a candidate is not a match at all (not listed, not stored).
MIN_SCORE = 15.0
# Good matches: at or above this score. Breaking a constraint sends a good match below every good
# match that breaks none, but not below the weak ones (a close fit over budget is more use to the buyer
# than a loose fit within it). See order() and docs/matching.md.
GOOD_SCORE = 40.0
# A new match at or above this score, breaking no constraint, is announced to both organisations.
STRONG_SCORE = 60.0

TITLE_BOOST = 1.5
SINGLE_CHAR_FACTOR = 0.5
IDF_FLOOR = 5.0  # jieba IDF below this (我们 3.4, 想 4.1, 办法 5.3) carries no weight
IDF_DEFAULT = 11.5  # words missing from the table are rare in general text
UNKNOWN_FACTOR = 0.3  # a segmenter's guess (皮和胆, 能验) counts little; its dictionary parts or characters count
MAX_TERMS = 16
PART_CREDIT = 0.5
CONCEPT_CREDIT = 0.7  # a related word (matching/data/concepts.txt) instead of the word itself
CONCEPTS_PATH = Path(__file__).resolve().parent / "data" / "concepts.txt"
FILLERS_PATH = Path(__file__).resolve().parent / "data" / "fillers.txt"
# A number with a measure word (四五天, 十几个, 两三年, 一个多月, 三百公里) says how much, not what.
NUMERALS = frozenset("零一二两三四五六七八九十百千万几多半余来")
MEASURES = frozenset("个只头匹口天年月日周次回遍件间种项批块片套款元斤吨亩米公里度层家户棵株袋箱")
MIN_TEXT_LENGTH = 10
SHOWN_TERMS = 5

AID_REGIONS = (Organisation.Region.BEIJING, Organisation.Region.JIANGSU)


# ------------------------------------------------------------------ key terms


@functools.cache
def _idf_table() -> dict[str, float]:
    path = resources.files("jieba.analyse").joinpath("idf.txt")
    table = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            word, _sep, value = line.rstrip("\n").rpartition(" ")
            table[word] = float(value)
    return table


@functools.cache
def _domain_words() -> frozenset[str]:
    words = {analysis.normalise(w) for w in analysis.domain_terms()}
    words.update(member for group in analysis.synonym_groups() for member in group)
    return frozenset(words)


def _data_words(path: Path) -> list[str]:
    words = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        words += [analysis.normalise(m).strip() for m in line.split(",") if m.strip()]
    return words


@functools.cache
def fillers() -> frozenset[str]:
    """Colloquial words that say nothing about what the problem is (matching/data/fillers.txt)."""
    return frozenset(_data_words(FILLERS_PATH))


def is_filler(word: str) -> bool:
    """A filler word, a stopword, or a number with a measure word (四五天, 十几个, 一个多月)."""
    if word in fillers() or word in analysis.stopwords():
        return True
    return (
        len(word) > 1
        and word[0] in NUMERALS
        and all(ch in NUMERALS or ch in MEASURES for ch in word)
        and any(ch in MEASURES or ch in "多几半余来" for ch in word[1:])
    )


@functools.cache
def concept_groups() -> tuple[tuple[str, ...], ...]:
    groups = []
    for raw in CONCEPTS_PATH.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        members = tuple(dict.fromkeys(analysis.normalise(m).strip() for m in line.split(",") if m.strip()))
        if len(members) >= 2:
            groups.append(members)
    return tuple(groups)


@functools.cache
def _concept_map() -> dict[str, frozenset[str]]:
    mapping: dict[str, set[str]] = {}
    for group in concept_groups():
        for member in group:
            mapping.setdefault(member, set()).update(m for m in group if m != member)
    return {word: frozenset(related) for word, related in mapping.items()}


def related_words(word: str) -> frozenset[str]:
    """Words of the same concept (matching/data/concepts.txt), the word's synonyms' concepts included."""
    related: set[str] = set()
    for alternative in analysis.expand([word])[0]:
        related |= _concept_map().get(alternative, frozenset())
    return frozenset(related)


def is_known(word: str) -> bool:
    """A dictionary word (general, domain or concept vocabulary), a number or a Latin-script term — not a
    segmenter guess."""
    return (
        word in _idf_table()
        or word in _domain_words()
        or word in _concept_map()
        or word.isascii()
        or any(ch.isdigit() for ch in word)
    )


def informativeness(word: str) -> float:
    """How much a word says about a problem: IDF above a floor; single characters count half."""
    idf = _idf_table().get(word, IDF_DEFAULT)
    weight = max(0.0, idf - IDF_FLOOR)
    if len(word) == 1:
        weight *= SINGLE_CHAR_FACTOR
    return weight


@dataclass(frozen=True)
class Term:
    word: str
    weight: float
    alternatives: frozenset[str]  # the word and its synonyms (full credit)
    parts: tuple[str, ...]  # its dictionary parts (partial credit)
    related: tuple[str, ...] = ()  # words of the same concept (CONCEPT_CREDIT), sorted


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def _pieces(word: str) -> list[str]:
    """What a word is made of: its dictionary parts, else (a short word) its characters."""
    parts = analysis.subwords(word)
    if parts:
        return parts
    if len(word) <= 4:
        return [ch for ch in word if ch.isalnum()]
    return []


def key_terms(title: str, body: str, *, limit: int = MAX_TERMS) -> tuple[Term, ...]:
    """The most informative words of a text, title words boosted, with their synonyms and parts.

    A word the segmenter made up (not in the general or the domain dictionary: 皮和胆, 能验) counts
    little itself; its dictionary parts or its characters are used instead (皮, 胆; 验).
    """
    weights: dict[str, float] = {}

    def add(word: str, weight: float) -> None:
        if weight > weights.get(word, 0.0):
            weights[word] = weight

    for boost, text in ((TITLE_BOOST, title), (1.0, body)):
        for word in analysis.query_tokens(text):
            if len(word) == 1 and not _is_cjk(word):
                continue  # a lone letter or digit (β, 3) says nothing
            if word.replace(".", "", 1).isdigit():
                continue  # a bare quantity (500 公斤, 3.5 米) matches by coincidence; 5G or PM2.5 stay
            if is_filler(word):
                continue  # 老是, 想要, 从头到尾, 四五天: nothing about the problem itself
            if is_known(word):
                add(word, informativeness(word) * boost)
                continue
            add(word, informativeness(word) * boost * UNKNOWN_FACTOR)
            for piece in _pieces(word):
                if not is_filler(piece):
                    add(piece, informativeness(piece) * boost)
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:limit]
    terms = []
    for word, weight in ranked:
        (alternatives,) = analysis.expand([word])
        parts = tuple(_pieces(word)) if len(word) > 1 else ()
        related = tuple(sorted(related_words(word) - set(alternatives)))
        terms.append(Term(word, weight, frozenset(alternatives), parts, related))
    return tuple(terms)


def listing_text(*parts: str) -> str:
    """A listing's text as the matcher reads it: normalised like the index (NFKC, lower case)."""
    return analysis.normalise("\n".join(p for p in parts if p))


# ------------------------------------------------------------------ profiles


@dataclass(frozen=True)
class NeedProfile:
    pk: int | None
    title: str
    text_length: int
    field: str
    tags: frozenset[str]
    modes: frozenset[str]
    min_maturity: str
    budget: Decimal | None
    terms: tuple[Term, ...]

    @property
    def too_short(self) -> bool:
        return self.text_length < MIN_TEXT_LENGTH


@dataclass(frozen=True)
class TechProfile:
    pk: int | None
    title: str
    field: str
    tags: frozenset[str]
    modes: frozenset[str]
    maturity: str
    price: Decimal | None
    price_max: Decimal | None
    region: str
    text: str
    terms: tuple[Term, ...] = ()


def _meaningful_length(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


def need_profile(need) -> NeedProfile:
    """From a Need (tags and desired_modes prefetched to avoid queries)."""
    return NeedProfile(
        pk=need.pk,
        title=need.title,
        text_length=_meaningful_length(need.title) + _meaningful_length(need.description),
        field=need.field,
        tags=frozenset(t.code for t in need.tags.all()),
        modes=frozenset(m.code for m in need.desired_modes.all()),
        min_maturity=need.min_maturity or "",
        budget=need.budget_cny,
        terms=key_terms(need.title, need.description),
    )


def technology_profile(
    technology, *, tags: Iterable[str] | None = None, modes: Iterable[str] | None = None, with_terms: bool = False
) -> TechProfile:
    """From a Technology: its tag and mode codes given, or read from (prefetched) relations.

    with_terms: its key terms too (to find the needs it may fit)."""
    parts = (technology.title, technology.summary, technology.description, technology.benefits, technology.keywords)
    if tags is None:
        tags = [t.code for t in technology.tags.all()]
    if modes is None:
        modes = [m.code for m in technology.transfer_modes.all()]
    return TechProfile(
        pk=technology.pk,
        title=technology.title,
        field=technology.field,
        tags=frozenset(tags),
        modes=frozenset(modes),
        maturity=technology.maturity,
        price=technology.price_cny,
        price_max=technology.price_max_cny,
        region=technology.region,
        text=listing_text(*parts),
        terms=key_terms(technology.title, f"{technology.keywords}\n{technology.summary}") if with_terms else (),
    )


# ------------------------------------------------------------------ features and score


@dataclass
class Scored:
    need_pk: int | None
    technology_pk: int | None
    score: float
    features: dict[str, float]
    reasons: list[dict] = field(default_factory=list)
    broken: list[dict] = field(default_factory=list)

    def sort_key(self, good_score: float = GOOD_SCORE) -> tuple:
        """Tier, then best score first: good matches breaking nothing (0), good matches breaking a
        constraint (1), weaker matches breaking nothing (2), weaker ones breaking a constraint (3)."""
        return (tier(self.score, bool(self.broken), good_score), -self.score, self.technology_pk or 0)


def _term_credit(term: Term, text: str) -> tuple[float, str]:
    """(credit, related word used): 1 for the word or a synonym in the text; CONCEPT_CREDIT for a word of the
    same concept; else part credit for its pieces found in the text.

    Words are looked up in the text itself, not in its segmentation: the listing is then never segmented
    at query time (the costliest step), and a need's 青稞 still finds a listing's 青稞全粉. A single
    character only ever earns part credit."""
    if len(term.word) > 1 and any(word in text for word in term.alternatives):
        return 1.0, ""
    for word in term.related:
        if len(word) > 1 and word in text:
            return CONCEPT_CREDIT, word
    if len(term.word) == 1:
        return (PART_CREDIT if term.word in text else 0.0), ""
    if term.parts:
        found = sum(1 for part in term.parts if part in text)
        return PART_CREDIT * found / len(term.parts), ""
    return 0.0, ""


@dataclass
class Overlap:
    share: float = 0.0
    shared: list[str] = field(default_factory=list)  # words found as such, most weighty first
    related: list[tuple[str, str]] = field(default_factory=list)  # (need's word, listing's related word)


def coverage(terms: Sequence[Term], text: str) -> Overlap:
    """Share of the terms' weight found in a listing, and which words were found (most weighty first)."""
    total = sum(t.weight for t in terms)
    overlap = Overlap()
    if not total:
        return overlap
    got = 0.0
    for term in terms:
        credit, related = _term_credit(term, text)
        got += term.weight * credit
        if credit == 1.0:
            overlap.shared.append(term.word)
        elif related:
            overlap.related.append((term.word, related))
    overlap.share = got / total
    return overlap


def features(need: NeedProfile, tech: TechProfile, *, text: float) -> tuple[dict[str, float], Overlap]:
    overlap = coverage(need.terms, tech.text)
    tags = len(need.tags & tech.tags) / len(need.tags) if need.tags else 0.0
    return (
        {
            "text": max(0.0, min(1.0, text)),
            "coverage": overlap.share,
            "field": 1.0 if need.field and need.field == tech.field else 0.0,
            "tags": tags,
            "aid": 1.0 if tech.region in AID_REGIONS else 0.0,
        },
        overlap,
    )


def combine(values: dict[str, float], weights: Weights = WEIGHTS) -> float:
    total = sum(weights.as_dict().values()) or 1.0
    raw = sum(getattr(weights, name) * value for name, value in values.items())
    return round(100.0 * raw / total, 1)


def check_constraints(need: NeedProfile, tech: TechProfile) -> tuple[list[dict], list[dict]]:
    """(reasons, broken) for the three hard constraints; a constraint the need does not set is silent."""
    reasons, broken = [], []
    if need.min_maturity and tech.maturity:
        item = {"code": "maturity", "maturity": tech.maturity, "min": need.min_maturity}
        ok = maturity_rank(tech.maturity) >= maturity_rank(need.min_maturity)
        (reasons if ok else broken).append(item)
    if need.modes:
        shared = sorted(need.modes & tech.modes, key=_mode_order)
        if shared:
            reasons.append({"code": "modes", "modes": shared})
        else:
            broken.append(
                {
                    "code": "modes",
                    "wanted": sorted(need.modes, key=_mode_order),
                    "offered": sorted(tech.modes, key=_mode_order),
                }
            )
    if need.budget is not None and tech.price is not None:
        item = {
            "code": "price",
            "price": str(tech.price),
            "price_max": str(tech.price_max) if tech.price_max is not None else None,
            "budget": str(need.budget),
        }
        (reasons if tech.price <= need.budget else broken).append(item)
    return reasons, broken


def score_pair(need: NeedProfile, tech: TechProfile, *, text: float, weights: Weights = WEIGHTS) -> Scored:
    values, overlap = features(need, tech, text=text)
    reasons: list[dict] = []
    if overlap.shared:
        reasons.append({"code": "terms", "terms": overlap.shared[:SHOWN_TERMS]})
    if overlap.related:
        pairs = [list(pair) for pair in overlap.related[:SHOWN_TERMS]]
        reasons.append({"code": "related", "pairs": pairs})
    if values["field"]:
        reasons.append({"code": "field", "field": tech.field})
    common_tags = sorted(need.tags & tech.tags, key=_tag_order)
    if common_tags:
        reasons.append({"code": "tags", "tags": common_tags})
    constraint_reasons, broken = check_constraints(need, tech)
    reasons += constraint_reasons
    if values["aid"]:
        reasons.append({"code": "aid", "region": tech.region})
    return Scored(
        need_pk=need.pk,
        technology_pk=tech.pk,
        score=combine(values, weights),
        features=values,
        reasons=reasons,
        broken=broken,
    )


def normalise_text_scores(raw: dict[int, float]) -> dict[int, float]:
    """Engine scores relative to the best candidate (BM25 is not on a fixed scale)."""
    best = max((s for s in raw.values() if s and not math.isnan(s)), default=0.0)
    if best <= 0:
        return dict.fromkeys(raw, 0.0)
    return {pk: (s / best if s and not math.isnan(s) else 0.0) for pk, s in raw.items()}


def tier(score: float, broken: bool, good_score: float = GOOD_SCORE) -> int:
    """0: a good match breaking nothing; 1: a good match breaking a constraint; 2, 3: the same, weaker."""
    return (0 if score >= good_score else 2) + (1 if broken else 0)


def order(
    scored: Iterable[Scored], *, min_score: float = MIN_SCORE, good_score: float = GOOD_SCORE, limit: int | None = None
) -> list[Scored]:
    """Drop what is not a match, then by tier (among good matches, and among weaker ones, those breaking a
    constraint come after every one breaking none), best score first."""
    kept = sorted((s for s in scored if s.score >= min_score), key=lambda s: s.sort_key(good_score))
    return kept[:limit] if limit else kept


# ------------------------------------------------------------------ words for people


_MODE_ORDER = {code: i for i, code in enumerate(ModeCode.values)}
_TAG_ORDER = {code: i for i, code in enumerate(TagCode.values)}


def _mode_order(code: str) -> int:
    return _MODE_ORDER.get(code, len(_MODE_ORDER))


def _tag_order(code: str) -> int:
    return _TAG_ORDER.get(code, len(_TAG_ORDER))


def _label(choices, code: str) -> str:
    try:
        return str(choices(code).label)
    except ValueError:
        return code


def _join(labels: Iterable[str]) -> str:
    chinese = (translation.get_language() or settings.LANGUAGE_CODE).startswith("zh")
    return ("、" if chinese else ", ").join(labels)


def money(amount: str | Decimal | None) -> str:
    """¥30 万 in Chinese, ¥300,000 in English (as listings show prices)."""
    if amount is None:
        return ""
    value = Decimal(str(amount))
    chinese = (translation.get_language() or settings.LANGUAGE_CODE).startswith("zh")
    if chinese and value >= 10000 and value % 100 == 0:
        return f"¥{(value / 10000).normalize():f} 万"
    if value % 1 == 0:
        return f"¥{value:,.0f}"
    return f"¥{value:,.2f}"


def _price_text(item: dict) -> str:
    if item.get("price_max"):
        return f"{money(item['price'])}–{money(item['price_max']).lstrip('¥')}"
    return money(item["price"])


def reason_text(item: dict) -> str:
    """One reason in plain words (the active language): 共同关键词:青稞、保鲜 / 同属农业领域 / …"""
    code = item.get("code")
    if code == "terms":
        return _("共同关键词:%(terms)s") % {"terms": _join(item["terms"])}
    if code == "related":
        return _("相关说法:%(pairs)s") % {"pairs": _join(f"{mine}≈{theirs}" for mine, theirs in item["pairs"])}
    if code == "field":
        return _("同属%(field)s领域") % {"field": _label(Field, item["field"])}
    if code == "tags":
        return _("同属特色产业:%(tags)s") % {"tags": _join(_label(TagCode, t) for t in item["tags"])}
    if code == "maturity":
        return _("成熟度%(stage)s,满足最低要求(%(min)s)") % {
            "stage": _label(Maturity, item["maturity"]),
            "min": _label(Maturity, item["min"]),
        }
    if code == "modes":
        return _("接受%(modes)s方式") % {"modes": _join(_label(ModeCode, m) for m in item["modes"])}
    if code == "price":
        return _("报价 %(price)s,在预算 %(budget)s以内") % {
            "price": _price_text(item),
            "budget": money(item["budget"]),
        }
    if code == "aid":
        return _("%(region)s援藏单位成果") % {"region": _label(Organisation.Region, item["region"])}
    return str(item)


def broken_text(item: dict) -> str:
    """One broken hard constraint in plain words."""
    code = item.get("code")
    if code == "maturity":
        return _("成熟度%(stage)s,低于最低要求(%(min)s)") % {
            "stage": _label(Maturity, item["maturity"]),
            "min": _label(Maturity, item["min"]),
        }
    if code == "modes":
        return _("不提供可接受的转化方式(需要:%(wanted)s;提供:%(offered)s)") % {
            "wanted": _join(_label(ModeCode, m) for m in item["wanted"]),
            "offered": _join(_label(ModeCode, m) for m in item["offered"]) or "—",
        }
    if code == "price":
        return _("报价 %(price)s,超出预算 %(budget)s") % {"price": _price_text(item), "budget": money(item["budget"])}
    return str(item)
