from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture import (
    CALL_LOG_PROJECTION,
    SMS_PROJECTION,
    CallType,
    Direction,
    Presentation,
    RecordError,
    SmsType,
    call_from_row,
    decode_call_rows,
    decode_sms_rows,
    parse_content_query,
    records,
    sms_from_row,
)
from tests.capture.conftest import fuzz, read


def golden_sms():
    return decode_sms_rows(parse_content_query(read("content_query", "sms_tricky.txt"), SMS_PROJECTION).rows)


def golden_calls():
    return decode_call_rows(
        parse_content_query(read("content_query", "call_log.txt"), CALL_LOG_PROJECTION).rows
    )


def test_sms_types_directions_and_sim():
    decoded = golden_sms()
    assert decoded.errors == []
    by_id = {record.source_id: record for record in decoded.records}
    assert [by_id[i].type for i in (1201, 1202, 1205, 1206, 1207)] == [
        SmsType.INBOX,
        SmsType.SENT,
        SmsType.FAILED,
        SmsType.DRAFT,
        SmsType.QUEUED,
    ]
    assert by_id[1201].direction is Direction.INCOMING and by_id[1202].direction is Direction.OUTGOING
    assert by_id[1203].subscription_id == 2 and by_id[1204].subscription_id is None
    assert by_id[1205].locked is True and by_id[1205].error_code == 34 and by_id[1205].body is None


def test_sms_times_are_aware_utc_with_milliseconds():
    first = golden_sms().records[0]
    assert first.occurred_at == datetime(2024, 5, 1, 6, 30, 15, 123000, tzinfo=UTC)
    assert first.sent_at == datetime(2024, 5, 1, 6, 30, 13, tzinfo=UTC)
    assert golden_sms().records[1].sent_at is None  # date_sent=0


def test_call_types_including_rejected_blocked_and_answered_elsewhere():
    decoded = golden_calls()
    by_id = {record.source_id: record for record in decoded.records}
    assert [by_id[i].type for i in range(501, 508)] == [
        CallType.INCOMING,
        CallType.MISSED,
        CallType.OUTGOING,
        CallType.REJECTED,
        CallType.BLOCKED,
        CallType.ANSWERED_EXTERNALLY,
        CallType.VOICEMAIL,
    ]
    assert by_id[501].duration == timedelta(seconds=185) and by_id[501].answered
    assert not by_id[502].answered and by_id[502].direction is Direction.INCOMING
    assert by_id[503].direction is Direction.OUTGOING and by_id[503].name == "Li, Wei (Acme, Ltd.)"
    assert by_id[504].presentation is Presentation.RESTRICTED and by_id[504].number == ""
    assert by_id[501].subscription_id == "89860012345678901234"
    assert by_id[507].subscription_id is None


def test_one_bad_row_does_not_lose_the_batch():
    decoded = golden_calls()
    assert len(decoded.records) == 8
    [error] = decoded.errors
    assert isinstance(error, RecordError) and error.source_id == "508"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"_id": "x"}, "_id"),
        ({"_id": None}, "_id"),
        ({"date": "-5"}, "date"),
        ({"date": "0"}, "date"),
        ({"date": "99999999999999999999"}, "date"),
        ({"type": "NaN"}, "type"),
        ({"sub_id": "1.5"}, "sub_id"),
    ],
)
def test_bad_sms_values_name_the_column(changes, field):
    row = {"_id": "1", "date": "1714545015123", "type": "1", "body": "x", "sub_id": "1"}
    row.update(changes)
    with pytest.raises(RecordError) as caught:
        sms_from_row(row)
    assert caught.value.field == field


def test_unknown_type_codes_are_kept_not_refused():
    sms = sms_from_row({"_id": "1", "date": "1714545015123", "type": "9"})
    call = call_from_row({"_id": "2", "date": "1714545015123", "type": "100", "duration": "3"})
    assert (sms.type, sms.type_code, sms.direction) == (SmsType.UNKNOWN, 9, Direction.UNKNOWN)
    assert (call.type, call.type_code, call.direction) == (CallType.UNKNOWN, 100, Direction.UNKNOWN)


def test_an_absurd_call_duration_is_a_typed_error():
    row = {"_id": "3", "date": "1714545015123", "type": "1", "duration": "99999999999999999"}
    decoded = decode_call_rows([row])
    assert not decoded.records and decoded.errors[0].field == "duration"


def test_missing_optional_columns_of_old_android():
    call = call_from_row({"_id": "2", "date": "1714545015123", "type": "2", "number": "10086"})
    assert call.duration == timedelta(0) and call.subscription_id is None and call.presentation is None


@fuzz(200)
@given(st.dictionaries(st.sampled_from(SMS_PROJECTION), st.one_of(st.none(), st.text(max_size=30))))
def test_arbitrary_sms_rows_decode_or_fail_typed(row):
    decoded = decode_sms_rows([row])
    assert len(decoded.records) + len(decoded.errors) == 1


@fuzz(200)
@given(st.dictionaries(st.sampled_from(CALL_LOG_PROJECTION), st.one_of(st.none(), st.text(max_size=30))))
def test_arbitrary_call_rows_decode_or_fail_typed(row):
    decoded = decode_call_rows([row])
    assert len(decoded.records) + len(decoded.errors) == 1


# Mostly what phones print, some of what they should not: the fast decoder must decode the first
# as the checked one does and leave the rest to it.
_USUAL = [None, "", "0", "1", "2", "5", "-1", "1714545015123"]
_ODD = ["NULL", " 5", "1_0", "0x1", "١٢", "x", "99999999999999999"]
_VALUES = st.sampled_from(_USUAL * 15 + _ODD)
_KEYS = {
    "_id": st.one_of(st.integers(0, 10**6).map(str), st.integers(-5, 10**6).map(str), _VALUES),
    "type": st.one_of(st.integers(0, 8).map(str), st.integers(-1, 300).map(str), _VALUES),
    "date": st.one_of(st.integers(1, 4 * 10**12).map(str), st.integers(-1, 2 * 10**13).map(str), _VALUES),
}


def _rows(projection):
    optional = {name: _VALUES for name in projection if name not in _KEYS}
    return st.fixed_dictionaries(_KEYS, optional=optional)


def _fast_agrees_with_checked(row, fast, checked):
    """The fast decoder either leaves a row to the checked one or decodes it to the same record."""
    try:
        expected = checked(row)
    except RecordError:
        expected = None
    try:
        decoded = fast(row)
    except (KeyError, TypeError, ValueError):
        return
    assert decoded == expected


@fuzz(300)
@given(_rows(SMS_PROJECTION))
def test_fast_sms_decoding_equals_the_checked_decoder(row):
    _fast_agrees_with_checked(row, records._fast_sms, records._checked_sms)


@fuzz(300)
@given(_rows(CALL_LOG_PROJECTION))
def test_fast_call_decoding_equals_the_checked_decoder(row):
    _fast_agrees_with_checked(row, records._fast_call, records._checked_call)
