import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture import ROLES, NormalisedNumber, NumberKind, mask, normalise, should_mask
from tests.capture.conftest import fuzz


@pytest.mark.parametrize(
    "raw",
    ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678", "8613812345678", "(+86)138-1234-5678",
     "１３８１２３４５６７８", "138\u00a01234\u00a05678", "tel:+8613812345678", "+86 (138) 1234-5678"],
)
def test_mobile_forms_normalise_to_one_e164(raw):
    number = normalise(raw)
    assert (number.e164, number.kind, number.region, number.raw) == ("+8613812345678", NumberKind.MOBILE, "CN", raw)
    assert number.linkable


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [("17951 13912345678", "17951"), ("1795113912345678", "17951"), ("17911-139-1234-5678", "17911"),
     ("12593+8613912345678", "12593"), ("17909013912345678", "17909"), ("1019313912345678", "10193"),
     ("1180813912345678", "11808")],
)
def test_ip_dial_prefixes_are_stripped(raw, prefix):
    number = normalise(raw)
    assert (number.e164, number.ip_prefix) == ("+8613912345678", prefix)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("010-12345678", "+861012345678"), ("(021)12345678", "+862112345678"), ("0755 1234 5678", "+8675512345678"),
     ("+86 0755 1234 5678", "+8675512345678"), ("17951 010 1234 5678", "+861012345678")],
)
def test_landlines_keep_their_area_code(raw, e164):
    number = normalise(raw)
    assert (number.e164, number.kind) == (e164, NumberKind.FIXED_LINE)


@pytest.mark.parametrize("raw", ["95588", "10086", "10010", "12345", "110", "400-812-3123", "800 810 8888",
                                 "1069012345678", "106575257310", "CMBCHINA"])
def test_service_numbers_are_never_linkable(raw):
    number = normalise(raw)
    assert number.kind is NumberKind.SERVICE and not number.linkable


@pytest.mark.parametrize("raw", ["", None, "abc!!", "12345678", "+999123", "0", "*#06#", "13812345678" * 3, "💩"])
def test_garbage_is_invalid_and_keeps_raw(raw):
    number = normalise(raw)
    assert number.kind is NumberKind.INVALID and number.e164 is None and not number.linkable
    assert number.raw == ("" if raw is None else raw)


def test_foreign_numbers_and_other_default_region():
    assert normalise("+1 (415) 555-2671").e164 == "+14155552671"
    assert normalise("+852 9123 4567").region == "HK"
    assert normalise("(415) 555-2671", default_region="US").e164 == "+14155552671"


@pytest.mark.parametrize(
    ("value", "masked"),
    [("+8613812345678", "+86 138****5678"), ("+861012345678", "+86 10****5678"),
     ("+8675512345678", "+86 755****5678"), ("+14155552671", "+1 415***2671"), ("+85291234567", "+852 9***4567"),
     ("12345678", "****5678"), ("", "****")],
)
def test_mask(value, masked):
    assert mask(value) == masked


def test_mask_accepts_normalised_numbers_and_leaves_service_numbers_readable():
    assert mask(normalise("138 1234 5678")) == "+86 138****5678"
    assert mask(normalise("95588")) == "95588"
    assert mask(normalise("abc!!")) == "****"


def test_mask_policy():
    assert should_mask("rep", is_owner=False)
    assert not should_mask("rep", is_owner=True)
    for role in ROLES:
        if role != "rep":
            assert not should_mask(role, is_owner=False)
    assert should_mask("intern", is_owner=True)


@fuzz(300)
@given(st.text(max_size=60))
def test_any_text_gives_a_result(raw):
    number = normalise(raw)
    assert isinstance(number, NormalisedNumber) and number.raw == raw
    masked = mask(number)
    if number.linkable:
        assert number.e164[-4:] == masked[-4:] and "*" in masked
