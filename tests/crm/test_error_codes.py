"""Every service error has a registered code with its parameters, and every code a message in both
languages: the dashboard words a refusal in the user's language from ``code`` and ``params``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlmodel import Session

from crm.errors import CODES, GENERIC_CODES, Conflict, DomainError, Forbidden, NotFound
from crm.pool import default_pool
from crm.pool_service import PoolRules, claim, release, update_pool
from dashboard.i18n import ERROR_PREFIX, catalogue
from tests.crm.conftest import NOW, Org, make_customer

CRM = Path(__file__).resolve().parents[2] / "crm"
ERROR_CLASSES = {"DomainError", "NotFound", "Conflict", "Forbidden", "AlreadyClaimed", "PoolRuleRefused"}
# Owned by another engineer; its two raises fall back to the generic code of the class until coded.
NOT_YET_CODED = {"phones.py"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _raises() -> list[tuple[str, ast.Call]]:
    found = []
    for path in sorted(CRM.glob("*.py")):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name in ERROR_CLASSES:
                    found.append((f"{path.name}:{node.lineno}", node))
    return found


def _codes_of(node: ast.Call) -> list[str]:
    """The literal code(s) a call gives (both branches of ``a if c else b``)."""
    value = next((k.value for k in node.keywords if k.arg == "code"), None)
    branches = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
    return [b.value for b in branches if isinstance(b, ast.Constant) and isinstance(b.value, str)]


def _param_names(node: ast.Call) -> set[str] | None:
    value = next((k.value for k in node.keywords if k.arg == "params"), None)
    if value is None:
        return set()
    if isinstance(value, ast.Dict) and all(isinstance(k, ast.Constant) for k in value.keys):
        return {k.value for k in value.keys}  # type: ignore[union-attr]
    return None


def test_every_raise_in_the_services_names_a_registered_code_with_its_params() -> None:
    raises = _raises()
    assert len(raises) > 140  # the walk sees the services' raises
    problems = []
    for where, node in raises:
        if where.split(":")[0] in NOT_YET_CODED:
            continue
        codes = _codes_of(node)
        if not codes:
            problems.append(f"{where}: no literal code")
        for code in codes:
            if code not in CODES:
                problems.append(f"{where}: {code} is not in crm.errors.CODES")
            elif _param_names(node) != set(CODES[code]):
                problems.append(f"{where}: params {_param_names(node)} but {code} takes {CODES[code]}")
    assert problems == []


def test_duplicate_found_has_its_code() -> None:
    from crm.customer_service import DuplicateFound

    assert DuplicateFound([]).code == "customer.duplicate"


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_every_code_has_a_message_in_each_language_using_only_its_params(locale: str) -> None:
    messages = catalogue(locale)
    missing = [code for code in CODES if ERROR_PREFIX + code not in messages]
    assert missing == []
    for code, params in CODES.items():
        used = set(PLACEHOLDER.findall(messages[ERROR_PREFIX + code]))
        assert used <= set(params), (locale, code, used)
    stale = [
        key for key in messages if key.startswith(ERROR_PREFIX) and key[len(ERROR_PREFIX) :] not in CODES
    ]
    assert stale == []


def test_chinese_messages_are_chinese() -> None:
    zh = catalogue("zh")
    latin_only = [code for code in CODES if not re.search(r"[\u4e00-\u9fff]", zh[ERROR_PREFIX + code])]
    assert latin_only == []


def test_an_error_without_a_code_gets_its_class_generic_code() -> None:
    for cls, code in (
        (DomainError, "invalid"),
        (NotFound, "not_found"),
        (Conflict, "conflict"),
        (Forbidden, "forbidden"),
    ):
        error = cls("something went wrong", field="x")
        assert (error.code, error.params, error.detail, error.field) == (
            code,
            {"detail": "something went wrong"},
            "something went wrong",
            "x",
        )
        assert code in GENERIC_CODES


def test_pool_rule_refusals_carry_code_and_params(session: Session, org: Org) -> None:
    pool = default_pool(session, org.a.id)
    session.commit()
    update_pool(
        session,
        actor=org.head,
        pool_id=pool.id,
        rules=PoolRules(daily_claim_cap=1, cooldown_days=7),
        now=NOW,  # type: ignore[call-arg]
    )
    first, second = (make_customer(session, org.head, f"公海{i}", to_pool=True) for i in range(2))
    claim(session, actor=org.rep1, customer_id=first.id, now=NOW)
    with pytest.raises(DomainError) as capped:
        claim(session, actor=org.rep1, customer_id=second.id, now=NOW)
    assert (capped.value.code, capped.value.params) == ("pool.claim.daily_cap", {"cap": 1})
    release(session, actor=org.rep1, customer_ids=[first.id], note="不合适", now=NOW)
    with pytest.raises(DomainError) as cooling:
        claim(session, actor=org.rep1, customer_id=first.id, now=NOW)
    assert cooling.value.code == "pool.claim.cooldown"
    assert cooling.value.params["until"] in cooling.value.detail


def test_http_error_body_keeps_detail_and_field_and_adds_code(
    client, factory, session: Session, org: Org
) -> None:  # type: ignore[no-untyped-def]
    pool = default_pool(session, org.a.id)
    session.commit()
    update_pool(session, actor=org.head, pool_id=pool.id, rules=PoolRules(daily_claim_cap=1), now=NOW)  # type: ignore[call-arg]
    first, second = (make_customer(session, org.head, f"公海{i}", to_pool=True) for i in range(2))
    headers = factory.headers(org.rep1)
    assert client.post(f"/api/v1/customers/{first.id}/claim", headers=headers).status_code == 200
    refused = client.post(f"/api/v1/customers/{second.id}/claim", headers=headers)
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "daily claim limit reached (1 a day)",
        "field": "customer_id",
        "code": "pool.claim.daily_cap",
        "params": {"cap": 1},
    }
    missing = client.post("/api/v1/customers/999999/claim", headers=headers).json()
    assert (missing["code"], missing["field"]) == ("customer.not_found", "customer_id")
    invalid = client.post("/api/v1/customers/release", json={"customer_ids": "x"}, headers=headers).json()
    assert invalid["code"] == "request.invalid" and invalid["params"]["field"] == invalid["field"]
