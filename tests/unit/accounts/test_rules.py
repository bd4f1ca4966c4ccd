import pytest

from booking.accounts.rules import (
    city_key,
    city_name,
    credit_code_check_char,
    credit_code_problem,
    make_credit_code,
    mask_email,
    password_problems,
)

# Published examples of real unified social credit codes (check characters included).
REAL_CODES = ["91350100M000100Y43", "91110000802100433B", "12100000400000624D"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_credit_codes_pass_the_checksum(code):
    assert credit_code_problem(code) is None


def test_lower_case_and_spaces_are_normalised():
    assert credit_code_problem("  91350100m000100y43 ") is None


@pytest.mark.parametrize("code,reason", [
    ("91350100M000100Y44", "check character"),
    ("91350100M000100Y4", "18 characters"),
    ("91350100M0001O0Y43", "not allowed"),   # letter O is not in the alphabet
    ("", "18 characters"),
])
def test_bad_credit_codes_say_why(code, reason):
    assert reason in credit_code_problem(code)


def test_make_credit_code_appends_a_valid_check_character():
    code = make_credit_code("91210200MA0Y4K7N2")
    assert len(code) == 18 and credit_code_problem(code) is None
    assert code[-1] == credit_code_check_char(code[:17])


def test_check_character_zero_when_sum_is_a_multiple_of_31():
    # All zeros sums to 0: 31 - 0 = 31 -> wraps to index 0.
    assert credit_code_check_char("0" * 17) == "0"


def test_password_rules():
    def messages(*args):
        return [p.message for p in password_problems(*args)]

    assert messages("short") == ["at least 10 characters"]
    assert messages("aaaaaaaaaaaa") == ["too few distinct characters"]
    assert "must not be your e-mail address" in messages("me@ex.cn12", "ME@ex.cn12")
    assert messages("correct-horse-42") == []


@pytest.mark.parametrize("email,masked", [
    ("zhang.wei@dlut.edu.cn", "z***@dlut.edu.cn"), ("a@b.cn", "a***@b.cn"), ("nonsense", "***"),
])
def test_mask_email_keeps_the_first_letter_and_the_domain(email, masked):
    assert mask_email(email) == masked


def test_city_names_in_english():
    assert city_name("大连", "en") == city_name("大连市", "en") == "Dalian"
    assert city_name("葫芦岛", "en") == "Huludao"
    assert city_name("大连", "zh_CN") == "大连"
    assert city_name("苏州", "en") == "苏州"  # not one of ours: as typed
    assert city_name("", "en") == ""
    assert city_key("大连市") == city_key(" dalian ") == city_key("大连") == "大连"
    assert city_key("市") == "市"
