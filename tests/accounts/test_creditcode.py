import pytest
from django.core.exceptions import ValidationError

from marketplace.accounts.creditcode import check_character, credit_code_error, make_credit_code, validate_credit_code

# Published codes of real organisations (their own public registrations).
REAL_CODES = ["91110000802100433B", "91350100M000100Y43"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_pass_the_gb32100_check(code):
    assert credit_code_error(code) is None


def test_a_wrong_check_character_names_the_expected_one():
    good = make_credit_code("91540100MA6T00001")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    message = credit_code_error(wrong)
    assert message is not None and f"应为 {good[17]}" in message


@pytest.mark.parametrize(
    ("code", "fragment"),
    [("9154010", "18位"), ("91540100MA6T0000I1", "非法字符"), ("", "18位")],
)
def test_malformed_codes_say_why(code, fragment):
    with pytest.raises(ValidationError) as err:
        validate_credit_code(code)
    assert fragment in err.value.messages[0]


def test_check_character_is_computed_with_the_standard_weights():
    assert check_character("91110000802100433") == "B"
