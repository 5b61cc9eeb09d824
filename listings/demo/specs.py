"""Parse the compact text blocks the demo data is written in.

A technology block (blank lines between blocks):

    @ org | field | tags | TRL | modes | price | IP
    title
    summary
    description
    benefits
    keywords

price is 面议, 50 (¥50 万, fixed) or 80-150 (a range in 万); IP is optional: 无, or tokens such as 发明2 实用1
软著1 品种1 秘密 (left out: the builder decides). A need block:

    @ org | field | tags | county | budget (万 or 面议) | modes | minimum maturity (or -) | days to the deadline
    title
    description

Fields, tags, modes, counties and maturities are written with their Chinese labels or short aliases.
"""

from dataclasses import dataclass
from decimal import Decimal

from listings.vocab import County, Field, Maturity

FIELDS = {
    "电子": Field.ELECTRONICS,
    "制造": Field.MANUFACTURING,
    "航空": Field.AEROSPACE,
    "交通": Field.TRANSPORT,
    "农业": Field.AGRICULTURE,
    "材料": Field.MATERIALS,
    "能源": Field.ENERGY,
    "环境": Field.ENVIRONMENT,
    "医药": Field.BIOMED,
    "城建": Field.URBAN,
    "核": Field.NUCLEAR,
}
TAGS = {
    "健康": "health",
    "文旅": "tourism",
    "能源": "clean_energy",
    "生态": "ecology",
    "农牧": "agri_pastoral",
    "信息": "digital",
    "民生": "livelihood",
}
MODES = {
    "转让": "transfer",
    "许可": "license",
    "入股": "equity",
    "合作": "co_develop",
    "服务": "service",
    "咨询": "consulting",
}
IP_KINDS = {
    "发明": "invention",
    "实用": "utility",
    "外观": "design",
    "软著": "software",
    "品种": "plant_variety",
    "新药": "biomed_variety",
    "秘密": "know_how",
}
COUNTIES = {str(label): value for value, label in County.choices}
MATURITIES = {str(label): value for value, label in Maturity.choices}
WAN = Decimal(10000)


@dataclass(frozen=True)
class TechSpec:
    org: str
    field: str
    tags: tuple[str, ...]
    trl: int
    modes: tuple[str, ...]
    price: tuple[Decimal | None, Decimal | None]
    ip: tuple[tuple[str, int], ...] | None
    title: str
    summary: str
    description: str
    benefits: str
    keywords: str


@dataclass(frozen=True)
class NeedSpec:
    org: str
    field: str
    tags: tuple[str, ...]
    county: str
    budget: Decimal | None
    modes: tuple[str, ...]
    min_maturity: str
    days: int
    title: str
    description: str


class SpecError(ValueError):
    pass


def _blocks(text: str) -> list[list[str]]:
    blocks, current = [], []
    for line in text.strip().splitlines():
        line = line.strip()
        if not line:
            if current:
                blocks.append(current)
            current = []
        else:
            current.append(line)
    if current:
        blocks.append(current)
    return blocks


def _lookup(table: dict, word: str, what: str, title: str) -> str:
    try:
        return table[word]
    except KeyError:
        raise SpecError(f"「{title}」:未知的{what}「{word}」") from None


def _words(table: dict, text: str, what: str, title: str) -> tuple[str, ...]:
    return tuple(_lookup(table, w, what, title) for w in text.split())


def _price(text: str, title: str) -> tuple[Decimal | None, Decimal | None]:
    if text == "面议":
        return None, None
    low, _, high = text.partition("-")
    try:
        return Decimal(low) * WAN, (Decimal(high) * WAN if high else None)
    except ArithmeticError:
        raise SpecError(f"「{title}」:价格「{text}」应为 面议、50 或 80-150(万元)") from None


def _number(text: str, what: str, title: str, kind=int):
    try:
        return kind(text)
    except (ValueError, ArithmeticError):
        raise SpecError(f"「{title}」:{what}「{text}」不是数字") from None


def _ip(text: str, title: str) -> tuple[tuple[str, int], ...] | None:
    if not text:
        return None
    if text == "无":
        return ()
    tokens = []
    for token in text.split():
        name, count = token.rstrip("0123456789"), token[len(token.rstrip("0123456789")) :]
        tokens.append((_lookup(IP_KINDS, name, "知识产权类型", title), int(count or 1)))
    return tuple(tokens)


def parse_technologies(text: str) -> list[TechSpec]:
    specs = []
    for block in _blocks(text):
        if len(block) != 6 or not block[0].startswith("@"):
            raise SpecError(f"成果数据块应为6行且以 @ 开头:{block[0][:40]}")
        header, title, summary, description, benefits, keywords = block
        parts = [p.strip() for p in header[1:].split("|")]
        if len(parts) not in (6, 7):
            raise SpecError(f"「{title}」:表头应有6或7栏")
        org, field, tags, trl, modes, price = parts[:6]
        specs.append(
            TechSpec(
                org=org,
                field=_lookup(FIELDS, field, "技术领域", title),
                tags=_words(TAGS, tags, "标签", title),
                trl=_number(trl, "TRL", title),
                modes=_words(MODES, modes, "转化方式", title),
                price=_price(price, title),
                ip=_ip(parts[6] if len(parts) == 7 else "", title),
                title=title,
                summary=summary,
                description=description,
                benefits=benefits,
                keywords=keywords,
            )
        )
    return specs


def parse_needs(text: str) -> list[NeedSpec]:
    specs = []
    for block in _blocks(text):
        if len(block) != 3 or not block[0].startswith("@"):
            raise SpecError(f"需求数据块应为3行且以 @ 开头:{block[0][:40]}")
        header, title, description = block
        parts = [p.strip() for p in header[1:].split("|")]
        if len(parts) != 8:
            raise SpecError(f"「{title}」:表头应有8栏")
        org, field, tags, county, budget, modes, maturity, days = parts
        specs.append(
            NeedSpec(
                org=org,
                field=_lookup(FIELDS, field, "技术领域", title),
                tags=_words(TAGS, tags, "标签", title),
                county=_lookup(COUNTIES, county, "县区", title),
                budget=None if budget == "面议" else _number(budget, "预算", title, Decimal) * WAN,
                modes=_words(MODES, modes, "转化方式", title),
                min_maturity="" if maturity == "-" else _lookup(MATURITIES, maturity, "成熟度", title),
                days=_number(days, "截止天数", title),
                title=title,
                description=description,
            )
        )
    return specs
