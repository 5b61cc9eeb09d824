"""Chinese patent application numbers (申请号) and the patent number ZL + 申请号.

12-digit numbers (from 2003): year(4) type(1) serial(7) '.' check; check = Σ digit × (2,3,…,9,2,3,4,5) mod 11,
10 written X. 8-digit numbers (before 2004): year(2) type(1) serial(5) '.' check, weights 2…9.
"""

import re

from django.utils.translation import gettext as _

from .vocab import IPKind

_PATTERN = re.compile(r"^(?:ZL|CN)?\s*(\d{8}|\d{12})\s*\.?\s*([\dX])$")
_TYPE_KIND = {
    "1": IPKind.INVENTION,
    "8": IPKind.INVENTION,
    "2": IPKind.UTILITY,
    "9": IPKind.UTILITY,
    "3": IPKind.DESIGN,
}


def check_digit(digits: str) -> str:
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)[: len(digits)]
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return "X" if remainder == 10 else str(remainder)


def parse_patent_number(text: str) -> tuple[str, str]:
    """Return (normalised 'ZL…' number, IP kind) or raise ValueError with a reason in the active language."""
    raw = (text or "").strip().upper().replace(" ", "")
    match = _PATTERN.match(raw)
    if not match:
        raise ValueError(_("专利号「%(number)s」格式不正确,应如 ZL201710601862.3") % {"number": text})
    digits, check = match.groups()
    type_digit = digits[4] if len(digits) == 12 else digits[2]
    if type_digit not in _TYPE_KIND:
        raise ValueError(
            _("专利号「%(number)s」的类型位 %(digit)s 无效(1发明、2实用新型、3外观设计、8/9 PCT)")
            % {"number": text, "digit": type_digit}
        )
    expected = check_digit(digits)
    if check != expected:
        raise ValueError(_("专利号「%(number)s」校验位错误:应为 %(expected)s") % {"number": text, "expected": expected})
    return f"ZL{digits}.{check}", _TYPE_KIND[type_digit]


def make_patent_number(digits: str) -> str:
    """ZL number with the right check digit (demo data and tests)."""
    return f"ZL{digits}.{check_digit(digits)}"
