"""Unified social credit code (GB 32100-2015), as DOMAIN.md §6 states it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxiu.events.codes import (
    ALPHABET,
    WEIGHTS,
    UsccCheck,
    check_character,
    check_uscc,
    normalize_uscc,
    org_code_check,
)

first17s = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


def test_alphabet_has_31_characters_without_i_o_s_v_z() -> None:
    assert len(ALPHABET) == 31
    assert not set("IOSVZ") & set(ALPHABET)
    assert ALPHABET.index("A") == 10
    assert ALPHABET.index("H") == 17
    assert ALPHABET.index("J") == 18
    assert ALPHABET.index("N") == 22
    assert ALPHABET.index("P") == 23
    assert ALPHABET.index("T") == 26
    assert ALPHABET.index("W") == 28
    assert ALPHABET.index("Y") == 30


def test_weights_are_powers_of_three_mod_31() -> None:
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def test_worked_example_sum_1261_gives_a() -> None:
    first17 = "91350200776049653"
    assert sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True)) == 1261
    assert check_character(first17) == "A"


@pytest.mark.parametrize("code", ["91350200776049653A", "91440101MA5CJQ4N59"])
def test_domain_examples_are_valid(code: str) -> None:
    assert check_uscc(code) == UsccCheck(
        code=code, valid=True, reason=None, expected_check=code[-1], org_code_ok=True
    )


def test_legacy_code_is_flagged_not_lost() -> None:
    result = check_uscc("91350203M0001QAY9B")
    assert result.code == "91350203M0001QAY9B"
    assert result.valid is False
    assert result.reason == "校验码应为 9，实为 B"
    assert result.expected_check == "9"
    # Its organisation code M0001QAY-9 is itself fine; only position 18 is wrong.
    assert result.org_code_ok is True


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "长度应为18位，实为0位"),
        ("9135020077604965", "长度应为18位，实为16位"),
        ("91350200776049653A0", "长度应为18位，实为19位"),
    ],
)
def test_wrong_length(code: str, reason: str) -> None:
    result = check_uscc(code)
    assert (result.valid, result.reason, result.expected_check, result.org_code_ok) == (
        False,
        reason,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("code", "position", "char"),
    [
        ("9135020077604965IA", 17, "I"),
        ("91350200776O49653A", 12, "O"),
        ("S1350200776049653A", 1, "S"),
        ("9135020077604965 A", 17, " "),
        ("91350200776049653a", 18, "a"),
    ],
)
def test_character_outside_alphabet_names_its_position(code: str, position: int, char: str) -> None:
    result = check_uscc(code)
    assert result.valid is False
    assert result.reason is not None
    assert result.reason.startswith(f"第{position}位字符 {char!r} 不在代码字符集中")
    assert result.expected_check is None


def test_valid_code_with_failing_org_code_is_valid_with_a_warning() -> None:
    # Organisation code 77604965-4 should end in 3; the USCC check is computed over it.
    result = check_uscc("91350200776049654D")
    assert result.valid is True
    assert result.reason is None
    assert result.org_code_ok is False


def test_unknown_authority_and_type_codes_are_not_errors() -> None:
    first17 = "YY350200776049653"
    assert check_uscc(first17 + check_character(first17)).valid is True


@pytest.mark.parametrize(
    ("body", "check"),
    [("77604965", "3"), ("MA5CJQ4N", "5"), ("M0001QAY", "9"), ("10000018", "X"), ("10000004", "0")],
)
def test_org_code_check(body: str, check: str) -> None:
    assert org_code_check(body) == check


def test_org_code_check_accepts_letters_outside_the_uscc_alphabet() -> None:
    # GB 11714 uses all 26 letters: I = 18, so 3*18 = 54 -> 54 mod 11 = 10 -> c = 1.
    assert org_code_check("I0000000") == "1"


@pytest.mark.parametrize("bad", ["7760496", "776049653", "7760496a"])
def test_org_code_check_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError):
        org_code_check(bad)


@pytest.mark.parametrize("bad", ["9135020077604965", "913502007760496530", "9135020077604965I"])
def test_check_character_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError):
        check_character(bad)


def test_normalize_strips_whitespace_and_upper_cases() -> None:
    assert normalize_uscc(" 9144 0101 ma5cjq4n59\n") == "91440101MA5CJQ4N59"
    assert check_uscc(normalize_uscc(" 9144 0101 ma5cjq4n59\n")).valid is True


@given(first17s)
def test_any_17_characters_with_computed_check_are_valid(first17: str) -> None:
    code = first17 + check_character(first17)
    result = check_uscc(code)
    assert result.valid is True
    assert result.expected_check == code[17]


@given(first17s, st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=30))
def test_changing_any_one_character_makes_the_code_invalid(first17: str, position: int, shift: int) -> None:
    code = first17 + check_character(first17)
    replacement = ALPHABET[(ALPHABET.index(code[position]) + shift) % 31]
    changed = code[:position] + replacement + code[position + 1 :]
    assert changed != code
    result = check_uscc(changed)
    assert result.valid is False
    assert result.reason is not None and result.reason.startswith("校验码应为 ")
