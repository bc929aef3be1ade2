"""Both languages say everything, and placeholders agree."""

from __future__ import annotations

import re

from dashboard.i18n import Translator, catalogue, normalise_locale


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) == set(en)
    for key in en:
        assert set(re.findall(r"\{(\w+)\}", zh[key])) == set(re.findall(r"\{(\w+)\}", en[key])), key


def test_locale_choice_and_fallbacks() -> None:
    assert [normalise_locale(v) for v in ("en_US", "zh-CN", "fr", None)] == ["en", "zh", "zh", "zh"]
    t = Translator("en")
    assert t("unit.hours_minutes", h=1, m="05") == "1 h 05 min"
    assert t.label("timeline.kind", "sms") == "SMS"
    assert t.label("timeline.kind", "something_new") == "something_new"
