"""Normalised forms used for duplicate detection: company/person names and e-mail addresses."""

from __future__ import annotations

import re
import unicodedata

from crm.errors import DomainError

# Legal-form suffixes that do not tell two companies apart (longest first).
_COMPANY_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团公司",
    "分公司",
    "公司",
    "集团",
    "工作室",
    "商行",
    "厂",
    "corporation",
    "company",
    "limited",
    "co.,ltd",
    "co.ltd",
    "coltd",
    "ltd",
    "inc",
    "llc",
    "corp",
    "co",
)
_PUNCTUATION = re.compile(r"[\s\-_.,，。、·•/\\()（）\[\]【】{}「」'\"“”‘’&+:：;；!！?？#*]+")
_EMAIL = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$")

# Mail providers shared by unrelated people: their domain says nothing about the company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "qq.com",
        "vip.qq.com",
        "foxmail.com",
        "163.com",
        "126.com",
        "yeah.net",
        "vip.163.com",
        "sina.com",
        "sina.cn",
        "sohu.com",
        "aliyun.com",
        "139.com",
        "189.cn",
        "wo.cn",
        "21cn.com",
        "tom.com",
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "proton.me",
        "protonmail.com",
    }
)


def clean_text(value: object) -> str:
    """NFKC (full-width → half-width), trimmed, inner whitespace collapsed."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    return " ".join(text.split())


def normalise_name(name: str) -> str:
    """``上海 星辰科技（有限）公司`` and ``上海星辰科技有限公司`` compare equal."""
    text = _PUNCTUATION.sub("", clean_text(name).casefold())
    changed = True
    while changed and text:
        changed = False
        for suffix in _COMPANY_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix) + 1:
                text = text[: -len(suffix)]
                changed = True
                break
    return text[:200]


def normalise_email(raw: str, *, field: str = "email") -> str:
    """Lower-cased, validated address; raises DomainError for anything that is not one."""
    email = clean_text(raw).lower()
    if not _EMAIL.match(email) or len(email) > 200:
        raise DomainError(
            f"not an e-mail address: {raw!r}", field=field, code="email.invalid", params={"value": raw}
        )
    return email


def email_domain(email: str) -> str:
    return email.rpartition("@")[2]


def company_domain(email: str) -> str | None:
    """The domain when it identifies an organisation (not a free-mail provider)."""
    domain = email_domain(email)
    return None if domain in FREE_MAIL_DOMAINS else domain
