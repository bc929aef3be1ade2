import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture import (
    CALL_LOG_PROJECTION,
    END_MARKER,
    SMS_PROJECTION,
    SMS_URI,
    ContentQueryFormatError,
    ProviderError,
    ProviderErrorKind,
    content_query_command,
    parse_content_query,
)
from tests.capture.conftest import fuzz, read


def sms_line(index: int, body: str, **values: str) -> str:
    row = dict.fromkeys(SMS_PROJECTION, "1")
    row.update(_id=str(100 + index), address="13812345678", date="1714545015123", subject="NULL")
    row.update(values)
    row["body"] = body
    return f"Row: {index} " + ", ".join(f"{k}={v}" for k, v in row.items())


def test_tricky_bodies_keep_commas_equals_newlines_and_emoji():
    result = parse_content_query(read("content_query", "sms_tricky.txt"), SMS_PROJECTION)
    bodies = {row["_id"]: row["body"] for row in result.rows}
    assert [row["_id"] for row in result.rows] == ["1201", "1202", "1203", "1204", "1205", "1206", "1207"]
    assert bodies["1201"] == "王经理您好，报价单已发您邮箱, 折扣按上次说的95折"
    assert bodies["1202"] == "好的, price=12,800元, qty=3\n第二行：明天上午10点到。\n\n第四行 after a blank line 🙂👍"
    assert bodies["1203"].endswith("余额=12,345.67元。")
    assert bodies["1205"] is None
    assert bodies["1206"] == "草稿：\t制表符 and trailing spaces   "
    assert bodies["1207"] == ""
    assert result.rows[0]["subject"] is None and result.rows[4]["subject"] == "Re: order"
    assert not result.truncated


def test_row_header_inside_a_body_stays_in_the_body_and_is_reported():
    result = parse_content_query(read("content_query", "sms_tricky.txt"), SMS_PROJECTION)
    body = next(row["body"] for row in result.rows if row["_id"] == "1204")
    assert body.startswith("Quote line 1\nRow: 3 _id=9999")
    assert body.endswith("Row: 99 not a header either")
    assert len(result.anomalies) == 2


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("NULL", None), ("NULLx", "NULLx"), ("NULL, x", "NULL, x"), ("x NULL", "x NULL"), ("", "")],
)
def test_only_a_value_that_is_exactly_null_is_none(subject, expected):
    result = parse_content_query(sms_line(0, "NULL", subject=subject) + "\n", SMS_PROJECTION)
    [row] = result.rows
    assert row["subject"] == expected and row["body"] is None and row["person"] == "1"


def test_call_log_with_commas_in_last_and_middle_columns():
    result = parse_content_query(read("content_query", "call_log.txt"), CALL_LOG_PROJECTION)
    assert len(result.rows) == 9
    assert result.rows[2]["name"] == "Li, Wei (Acme, Ltd.)"
    assert result.rows[3]["number"] == "" and result.rows[3]["geocoded_location"] == ""
    assert result.rows[8]["numberlabel"] == "Work, x=1"


def test_crlf_output_of_old_pty_shells():
    result = parse_content_query(read("content_query", "sms_crlf_android6.txt"), SMS_PROJECTION)
    assert [row["body"] for row in result.rows] == ["尊敬的客户：\n您本月话费58.00元", "ok"]


def test_no_result_found_is_an_empty_list():
    result = parse_content_query(read("content_query", "no_result.txt"), SMS_PROJECTION)
    assert result.rows == [] and not result.truncated


@pytest.mark.parametrize(
    ("name", "kind", "provider"),
    [
        ("sms_permission_denied_a10.txt", ProviderErrorKind.PERMISSION_DENIED, "sms"),
        ("call_log_permission_denied_a14.txt", ProviderErrorKind.PERMISSION_DENIED, "call_log"),
        ("sms_bad_column.txt", ProviderErrorKind.BAD_QUERY, "sms"),
        ("unknown_provider.txt", ProviderErrorKind.NO_SUCH_PROVIDER, "sms_extra"),
    ],
)
def test_provider_errors_are_typed(name, kind, provider):
    with pytest.raises(ProviderError) as caught:
        parse_content_query(read("content_query", name), SMS_PROJECTION)
    assert caught.value.kind is kind
    assert caught.value.provider == provider
    assert caught.value.permission_denied is (kind is ProviderErrorKind.PERMISSION_DENIED)
    assert caught.value.reason.startswith(("java.", "android."))


def test_security_exception_without_header_line():
    text = "java.lang.SecurityException: Permission Denial: reading uri content://sms requires READ_SMS\n"
    with pytest.raises(ProviderError) as caught:
        parse_content_query(text, SMS_PROJECTION)
    assert caught.value.permission_denied


def test_cut_inside_a_row_header_drops_that_row():
    text = sms_line(0, "first") + "\n" + sms_line(1, "second")[:60]
    result = parse_content_query(text, SMS_PROJECTION)
    assert [row["body"] for row in result.rows] == ["first"]
    assert result.truncated and "row 1" in result.problem


def test_missing_end_marker_means_truncated():
    complete = sms_line(0, "a") + "\n" + sms_line(1, "b, c") + f"\n{END_MARKER}\n"
    result = parse_content_query(complete, SMS_PROJECTION, end_marker=END_MARKER)
    assert [row["body"] for row in result.rows] == ["a", "b, c"] and not result.truncated

    cut = complete[: complete.index("b, c") + 2]
    result = parse_content_query(cut, SMS_PROJECTION, end_marker=END_MARKER)
    assert [row["body"] for row in result.rows] == ["a"]
    assert result.truncated and "end marker" in result.problem


def test_empty_output_with_marker_expected_is_truncated_and_without_is_an_error():
    assert parse_content_query("", SMS_PROJECTION, end_marker=END_MARKER).truncated
    with pytest.raises(ContentQueryFormatError):
        parse_content_query("", SMS_PROJECTION)


def test_no_result_with_marker():
    result = parse_content_query(f"No result found.\n{END_MARKER}\n", SMS_PROJECTION, end_marker=END_MARKER)
    assert result.rows == [] and not result.truncated


def test_provider_error_after_rows_keeps_the_rows_and_flags_truncation():
    text = sms_line(0, "ok") + "\n" + read("content_query", "sms_permission_denied_a10.txt")
    result = parse_content_query(text, SMS_PROJECTION)
    assert [row["body"] for row in result.rows] == ["ok"]
    assert result.truncated and "provider error after 1 rows" in result.problem


def test_body_that_only_mentions_the_error_prefix_is_text():
    body = "see below\nError while accessing provider:sms\nnot a stack trace"
    result = parse_content_query(sms_line(0, body), SMS_PROJECTION)
    assert result.rows[0]["body"] == body and not result.truncated


def test_wrong_projection_is_a_format_error():
    text = sms_line(0, "x") + "\n" + sms_line(1, "y")
    with pytest.raises(ContentQueryFormatError):
        parse_content_query(text, CALL_LOG_PROJECTION)


def test_output_not_starting_at_row_0_is_a_format_error():
    with pytest.raises(ContentQueryFormatError):
        parse_content_query(sms_line(3, "x") + "\n" + sms_line(4, "y"), SMS_PROJECTION)


def test_garbage_is_a_format_error():
    with pytest.raises(ContentQueryFormatError):
        parse_content_query("/system/bin/sh: content: not found\n", SMS_PROJECTION)
    with pytest.raises(ContentQueryFormatError):
        parse_content_query("No result found.\nsomething else\n", SMS_PROJECTION)


def test_linker_warnings_before_rows_are_ignored_and_reported():
    text = 'WARNING: linker: app_process has text relocations.\n' + sms_line(0, "hi")
    result = parse_content_query(text, SMS_PROJECTION)
    assert result.rows[0]["body"] == "hi" and result.anomalies


@pytest.mark.parametrize("projection", [[], "body", ["a", "a"], ["ok", "bad name"], ["x;rm -rf /"]])
def test_bad_projections_are_refused(projection):
    with pytest.raises(ContentQueryFormatError):
        parse_content_query("No result found.", projection)


def test_command_is_shell_quoted():
    command = content_query_command(SMS_URI, ["_id", "body"], where="address='1' OR 1=1; reboot", sort="_id ASC")
    assert command == (
        "content query --uri content://sms --projection _id:body "
        "--where 'address='\"'\"'1'\"'\"' OR 1=1; reboot' --sort '_id ASC'; echo __fieldcrm_end__"
    )


def test_large_batch_parses_every_row():
    lines = [sms_line(i, f"消息 {i}, 价格={i}\n第二行") for i in range(5000)]
    result = parse_content_query("\n".join(lines) + "\n", SMS_PROJECTION)
    assert len(result.rows) == 5000
    assert result.rows[4999]["body"] == "消息 4999, 价格=4999\n第二行"


def test_oversized_single_value():
    body = "长" * 2_000_000
    result = parse_content_query(sms_line(0, body), SMS_PROJECTION)
    assert result.rows[0]["body"] == body


bodies = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=200
).filter(lambda b: "\nRow: " not in "\n" + b)


@fuzz(150)
@given(st.lists(bodies, min_size=1, max_size=8))
def test_any_body_without_row_lines_round_trips(values):
    text = "\n".join(sms_line(i, body) for i, body in enumerate(values)) + "\n"
    result = parse_content_query(text, SMS_PROJECTION)
    assert [row["body"] for row in result.rows] == [None if b == "NULL" else b for b in values]


@fuzz(200)
@given(st.text(max_size=400))
def test_hostile_text_never_crashes(text):
    with contextlib.suppress(ContentQueryFormatError, ProviderError):
        parse_content_query(text, SMS_PROJECTION, end_marker=END_MARKER)


@fuzz(100)
@given(st.integers(min_value=1, max_value=2000))
def test_any_cut_point_is_detected_with_the_marker(cut):
    full = sms_line(0, "one, =two") + "\n" + sms_line(1, "three\nfour") + f"\n{END_MARKER}\n"
    text = full[: min(cut, len(full))]
    result = parse_content_query(text, SMS_PROJECTION, end_marker=END_MARKER)
    if text.rstrip("\n").endswith(END_MARKER):
        assert not result.truncated and len(result.rows) == 2
    else:
        assert result.truncated
        assert all(row["body"] in ("one, =two", "three\nfour") for row in result.rows)


def test_a_line_repeating_the_column_names_is_parsed_in_linear_time():
    columns = ", ".join(f"{name}=x" for name in SMS_PROJECTION[:-1])
    hostile = "Row: 1 " + ", ".join([columns] * 200) + " and no body column"
    text = sms_line(0, "first") + "\n" + hostile + "\n" + sms_line(1, "second") + "\n"
    result = parse_content_query(text, SMS_PROJECTION)  # exponential backtracking would never return
    assert [row["body"] for row in result.rows] == ["first\n" + hostile, "second"]
