"""CNY amounts between our Decimal yuan and Stripe's integer minor units (fen), exactly or not at all."""

from decimal import Decimal, InvalidOperation

CURRENCY = "cny"
FEN = Decimal("0.01")
# Stripe's largest amount is eight digits of minor units (¥999,999.99); a contract instalment above it
# must be split by the parties. Checked here so the user hears it from us, not from Stripe.
MAX_MINOR = 99_999_999


class AmountError(ValueError):
    """An amount that cannot be charged exactly in CNY."""


def to_minor(amount: Decimal) -> int:
    """Yuan → fen. Refuses floats, fractions of a fen, zero, negatives and amounts over Stripe's limit."""
    if not isinstance(amount, Decimal):
        raise AmountError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise AmountError(f"amount must be finite: {amount}")
    try:
        fen = amount.scaleb(2)
        exact = fen == fen.to_integral_value()
    except InvalidOperation as exc:
        raise AmountError(f"not an amount: {amount}") from exc
    if not exact:
        raise AmountError(f"{amount} has a fraction of a fen")
    minor = int(fen)
    if minor <= 0:
        raise AmountError(f"amount must be positive: {amount}")
    if minor > MAX_MINOR:
        raise AmountError(f"{amount} exceeds the largest amount Stripe charges at once (999999.99)")
    return minor


def from_minor(minor: int) -> Decimal:
    """Fen → yuan with two decimal places (12345 → Decimal('123.45'))."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise AmountError(f"minor units must be an int, not {type(minor).__name__}")
    return Decimal(minor).scaleb(-2).quantize(FEN)
