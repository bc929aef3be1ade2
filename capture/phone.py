"""Phone-number normalisation (to E.164), classification and masking.

Numbers come from call logs and SMS as the phone stored them: with IP-dial
prefixes (``17951 138...``), ``0086``/``+86``/``86`` forms, landline area codes,
separators, full-width digits, or as short service numbers (``95588``, ``10086``)
and SMS gateway senders (``1069...``, ``CMBCHINA``). Only personal/business
subscriber numbers are *linkable* to customers; service numbers never are.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, shortnumberinfo

#: Carrier "IP long-distance" prefixes dialled in front of a number in China.
IP_DIAL_PREFIXES: tuple[str, ...] = (
    "17951", "17911", "12593", "17909", "10193", "11808", "17908", "17910", "17931", "17969",
    "96688", "12520",
)
_MAX_DIGITS = 20
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—.()/\[\]]+")
_DIGITS = re.compile(r"^\+?\d+$")
_SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]{2,11}$")
_SMS_GATEWAY = re.compile(r"^106\d{5,17}$")
_SERVICE_TYPES = {
    PhoneNumberType.TOLL_FREE, PhoneNumberType.SHARED_COST, PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.UAN, PhoneNumberType.VOICEMAIL,
}


class NumberKind(StrEnum):
    MOBILE = "mobile"
    FIXED_LINE = "fixed_line"
    OTHER = "other"  # valid subscriber number of another type (VoIP, fixed-or-mobile, ...)
    SERVICE = "service"  # short codes, 400/800, SMS gateways, alphanumeric senders
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class NormalisedNumber:
    """Result of :func:`normalise`. ``raw`` is always the input, unchanged.

    ``e164`` is set for every valid number (400/800 service numbers included);
    ``dialable`` is the cleaned form without IP prefix (``95588``, ``+8613812345678``);
    ``linkable`` is true only for subscriber numbers that may belong to a contact.
    """

    raw: str
    kind: NumberKind
    e164: str | None = None
    region: str | None = None
    dialable: str | None = None
    ip_prefix: str | None = None

    @property
    def linkable(self) -> bool:
        return self.e164 is not None and self.kind in (NumberKind.MOBILE, NumberKind.FIXED_LINE, NumberKind.OTHER)


def normalise(raw: str | None, default_region: str = "CN") -> NormalisedNumber:
    """Classify and normalise one raw number; never raises."""
    text = "" if raw is None else str(raw)
    cleaned = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    if cleaned.lower().startswith("tel:"):
        cleaned = cleaned[4:]
    prefix = None
    if cleaned[5:6] == "+" and cleaned[:5] in IP_DIAL_PREFIXES:
        prefix, cleaned = cleaned[:5], cleaned[5:]
    if not _DIGITS.match(cleaned):
        if _SENDER_ID.match(cleaned):
            return NormalisedNumber(text, NumberKind.SERVICE, dialable=cleaned)
        return NormalisedNumber(text, NumberKind.INVALID)
    if len(cleaned.lstrip("+")) > _MAX_DIGITS:
        return NormalisedNumber(text, NumberKind.INVALID)

    found = _parse_valid(cleaned, default_region)
    if found is not None:
        return _result(text, found, prefix or found.preferred_domestic_carrier_code or None)
    for prefix in IP_DIAL_PREFIXES:
        rest = cleaned[len(prefix) :]
        if cleaned.startswith(prefix) and len(rest) >= 7:
            found = _parse_valid(rest, default_region)
            if found is not None:
                return _result(text, found, prefix)
    if _is_service(cleaned, default_region):
        return NormalisedNumber(text, NumberKind.SERVICE, dialable=cleaned)
    return NormalisedNumber(text, NumberKind.INVALID)


def _parse_valid(digits: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(digits, region, keep_raw_input=True)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _result(raw: str, number: phonenumbers.PhoneNumber, prefix: str | None) -> NormalisedNumber:
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    number_type = phonenumbers.number_type(number)
    if number_type in _SERVICE_TYPES:
        kind = NumberKind.SERVICE
    elif number_type == PhoneNumberType.MOBILE:
        kind = NumberKind.MOBILE
    elif number_type == PhoneNumberType.FIXED_LINE:
        kind = NumberKind.FIXED_LINE
    else:
        kind = NumberKind.OTHER
    region = phonenumbers.region_code_for_number(number)
    return NormalisedNumber(raw, kind, e164=e164, region=region, dialable=e164, ip_prefix=prefix)


def _is_service(digits: str, region: str) -> bool:
    if digits.startswith("+"):
        return False
    if region == "CN" and _SMS_GATEWAY.match(digits):
        return True
    try:
        number = phonenumbers.parse(digits, region)
    except NumberParseException:
        return False
    return shortnumberinfo.is_valid_short_number_for_region(number, region)


# --- masking -------------------------------------------------------------------------------------

ROLES: tuple[str, ...] = ("executive", "division_head", "rep", "division_admin", "sysadmin")


def should_mask(role: str, is_owner: bool) -> bool:
    """Whether ``role`` sees a customer's numbers masked.

    Reps see masked numbers unless they own the customer; every other role sees full
    numbers (the server audits each unmask). An unknown role is masked (fail closed).
    """
    if role not in ROLES:
        return True
    return role == "rep" and not is_owner


def mask(number: str | NormalisedNumber) -> str:
    """``+8613812345678`` → ``+86 138****5678``; works for landlines and foreign numbers.

    Service numbers are public and returned as they are; anything that does not parse
    keeps only its last digits.
    """
    parsed = number if isinstance(number, NormalisedNumber) else None
    text = (parsed.e164 or parsed.dialable or parsed.raw) if parsed else str(number)
    if parsed is not None and parsed.kind is NumberKind.SERVICE:
        return text
    if text.startswith("+"):
        try:
            value = phonenumbers.parse(text, None)
        except NumberParseException:
            value = None
        if value is not None and phonenumbers.is_valid_number(value):
            nsn = phonenumbers.national_significant_number(value)
            head = max(0, min(phonenumbers.length_of_national_destination_code(value) or 3, len(nsn) - 7))
            return f"+{value.country_code} {_mask_digits(nsn, head)}"
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit())
    return _mask_digits(digits, 0) if digits else "****"


def _mask_digits(digits: str, head: int) -> str:
    tail = 4 if len(digits) - head >= 7 else max(0, (len(digits) - head) // 3)
    return digits[:head] + "*" * (len(digits) - head - tail) + digits[len(digits) - tail :]
