"""统一社会信用代码 (GB 32100-2015): 18 characters, the last one a check character."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


def check_character(first17: str) -> str:
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    return (code or "").strip().upper()


def credit_code_error(code: str) -> str | None:
    """The reason (in the active language) a code is invalid, or None when it is valid."""
    code = normalise(code)
    if len(code) != 18:
        return _("统一社会信用代码应为18位,当前为%(count)d位") % {"count": len(code)}
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        return _("统一社会信用代码含有非法字符:%(chars)s(不使用 I、O、Z、S、V)") % {"chars": "".join(bad)}
    expected = check_character(code[:17])
    if code[17] != expected:
        return _("统一社会信用代码校验位错误:应为 %(expected)s,实际为 %(actual)s") % {
            "expected": expected,
            "actual": code[17],
        }
    return None


def validate_credit_code(code: str) -> None:
    error = credit_code_error(code)
    if error:
        raise ValidationError(error, code="credit_code")


def make_credit_code(body17: str) -> str:
    """Append the check character to 17 characters (demo data and tests)."""
    return body17 + check_character(body17)
