"""PII detection quality on a labelled business-text set, and exact, reversible redaction."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.errors import ConfigError
from baton.policy.redaction import (
    BUILTIN_KINDS,
    DATA_CLASSES,
    CustomPattern,
    Detection,
    Redactor,
    iban_valid,
    luhn_valid,
)

LABELLED = Path(__file__).with_name("redaction_labelled.jsonl")

# ------------------------------------------------------------------------------------- labelled set


def _labelled() -> list[dict[str, Any]]:
    with LABELLED.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _score(redactor: Redactor) -> dict[str, Counter[str]]:
    """True positives, false positives and false negatives per kind.

    A span is a (kind, exact text) pair counted once per occurrence, so a value that appears twice in a
    text is labelled twice and must be detected twice (multiset match).
    """
    counts: dict[str, Counter[str]] = {"tp": Counter(), "fp": Counter(), "fn": Counter()}
    for row in _labelled():
        gold = Counter((span["kind"], span["text"]) for span in row["spans"])
        found = Counter((d.kind, d.text) for d in redactor.detect(row["text"]))
        for (kind, _), n in (gold & found).items():
            counts["tp"][kind] += n
        for (kind, _), n in (found - gold).items():
            counts["fp"][kind] += n
        for (kind, _), n in (gold - found).items():
            counts["fn"][kind] += n
    return counts


def _ratio(hits: int, total: int) -> float:
    return hits / total if total else 1.0


def test_labelled_set_is_well_formed() -> None:
    rows = _labelled()
    assert len(rows) >= 200
    for row in rows:
        for kind, n in Counter((s["kind"], s["text"]) for s in row["spans"]).items():
            assert kind[0] in BUILTIN_KINDS
            assert row["text"].count(kind[1]) >= n, f"span {kind} not in {row['text']!r}"
    kinds = Counter(s["kind"] for row in rows for s in row["spans"])
    assert min(kinds[kind] for kind in BUILTIN_KINDS) >= 40, kinds
    assert sum(1 for row in rows if not row["spans"]) >= 40, "the set needs texts with nothing to find"


def test_precision_and_recall_on_the_labelled_set() -> None:
    counts = _score(Redactor())
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    print(f"\n{'kind':<8}{'tp':>6}{'fp':>6}{'fn':>6}{'precision':>11}{'recall':>9}")
    for kind in (*BUILTIN_KINDS, "overall"):
        t, p, n = (sum(c.values()) if kind == "overall" else c[kind] for c in (tp, fp, fn))
        print(f"{kind:<8}{t:>6}{p:>6}{n:>6}{_ratio(t, t + p):>11.3f}{_ratio(t, t + n):>9.3f}")
    total_tp, total_fp, total_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    assert _ratio(total_tp, total_tp + total_fn) >= 0.95
    assert _ratio(total_tp, total_tp + total_fp) >= 0.95
    for kind in BUILTIN_KINDS:
        assert _ratio(tp[kind], tp[kind] + fn[kind]) >= 0.9, kind


# --------------------------------------------------------------------------------------- detectors


def _found(text: str) -> list[tuple[str, str]]:
    return [(d.kind, d.text) for d in Redactor().detect(text)]


def _one_digit_changed(value: str) -> list[str]:
    """Every variant of `value` with a single digit replaced by another digit."""
    return [
        value[:i] + other + value[i + 1 :]
        for i, char in enumerate(value)
        if char.isdigit()
        for other in "0123456789"
        if other != char
    ]


@pytest.mark.parametrize(
    "card",
    ["4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444", "3782 822463 10005", "6011 1111 1111 1117"],
)
def test_a_card_needs_the_luhn_check(card: str) -> None:
    assert _found(f"paid with {card} today") == [("card", card)]
    for variant in _one_digit_changed(card):
        assert not luhn_valid(variant.replace(" ", "").replace("-", ""))
        assert ("card", variant) not in _found(f"paid with {variant} today"), variant


def test_a_sixteen_digit_number_failing_luhn_is_not_a_card() -> None:
    assert not luhn_valid("4111111111111112")
    assert _found("batch 4111 1111 1111 1112 closed") == []
    assert _found("IMEI 490154203237518 reported lost") == []  # Luhn-valid, but a device


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
        "FR76 3000 6000 0112 3456 7890 189",
        "NL91 ABNA 0417 1643 00",
        "BE68 5390 0754 7034",
        "NO93 8601 1117 947",
    ],
)
def test_an_iban_needs_length_and_mod_97(iban: str) -> None:
    assert _found(f"IBAN {iban} (main account)") == [("iban", iban)]
    for variant in _one_digit_changed(iban)[4:]:
        assert iban_valid(variant.replace(" ", "")) is False
        assert ("iban", variant) not in _found(f"IBAN {variant} (main account)"), variant


def test_iban_lower_case_is_accepted_and_a_wrong_length_is_not() -> None:
    assert _found("iban de89370400440532013000") == [("iban", "de89370400440532013000")]
    assert _found("IBAN DE89 3704 0044 0532 0130") == []


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "+1-415-555-0132",
        "+49 (0)30 123456",
        "(415) 555-0132",
        "415.555.0132",
        "415-555-0132",
        "020 7946 0958",
        "06 12 34 56 78",
        "0044 20 7946 0958",
        "030/1234567",
    ],
)
def test_phone_formats(phone: str) -> None:
    assert _found(f"call {phone} today") == [("phone", phone)]


@pytest.mark.parametrize(
    "text",
    [
        "due 2024-05-01 at 10:30",
        "logged 2024-05-01T10:30:00Z",
        "on 01.05.2024 12",
        "version 1.2.3 and build 10.0.19045.3803",
        "total 12,000.00 USD",
        "order ORD-2024-004512",
        "host 192.168.100.200",
        "ZIP 02139-4307",
        "call 555-0132",
        "order 0612345678",
        "mail root@localhost",
        "asset logo@2x.png",
        "IBAN DE89 3704 0044 0532 0130 01",
        "tracking 9400 1000 0000 0000 0000 00",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert _found(text) == []


def test_a_card_is_never_read_as_a_phone() -> None:
    assert _found("+44 20 7946 0958 4111 1111 1111 1111") == [
        ("phone", "+44 20 7946 0958"),
        ("card", "4111 1111 1111 1111"),
    ]
    assert _found("phone: 4111111111111111") == [("card", "4111111111111111")]
    assert _found("VISA 4111 1111 1111 1111, PHONE 020 7946 0958") == [
        ("card", "4111 1111 1111 1111"),
        ("phone", "020 7946 0958"),
    ]


def test_detections_are_sorted_and_do_not_overlap() -> None:
    text = "dana@acme.example, 4111 1111 1111 1111, DE89 3704 0044 0532 0130 00, (415) 555-0132"
    found = Redactor().detect(text)
    assert [d.kind for d in found] == ["email", "card", "iban", "phone"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
    assert found[0] == Detection("email", 0, 17, "dana@acme.example", "contact")


def test_only_the_requested_kinds_are_detected() -> None:
    found = Redactor(kinds=["email"]).detect("dana@acme.example 4111 1111 1111 1111")
    assert [d.kind for d in found] == ["email"]


# --------------------------------------------------------------------------------------- redaction

NESTED = {
    "ticket": "Customer dana@acme.example paid with 4111 1111 1111 1111",
    "history": [
        "dana@acme.example called from +44 20 7946 0958",
        {"note": "refund to DE89 3704 0044 0532 0130 00", "amount": 12.5, "open": True, "by": None},
    ],
    "count": 3,
}


def test_round_trip_of_a_nested_value() -> None:
    session = Redactor().session()
    redacted = session.redact(NESTED)
    assert redacted == {
        "ticket": "Customer [EMAIL_1] paid with [CARD_1]",
        "history": [
            "[EMAIL_1] called from [PHONE_1]",
            {"note": "refund to [IBAN_1]", "amount": 12.5, "open": True, "by": None},
        ],
        "count": 3,
    }
    assert session.restore(redacted) == NESTED
    assert session.found_classes() == {"contact", "payment_card", "financial"}
    assert session.replaced["[CARD_1]"] == "4111 1111 1111 1111"


def test_placeholders_are_stable_and_distinct() -> None:
    session = Redactor().session()
    first = session.redact("from dana@acme.example to lee@acme.example")
    second = session.redact("cc dana@acme.example")
    assert first == "from [EMAIL_1] to [EMAIL_2]"
    assert second == "cc [EMAIL_1]"
    assert session.replaced == {"[EMAIL_1]": "dana@acme.example", "[EMAIL_2]": "lee@acme.example"}


def test_restore_leaves_unknown_placeholders_alone() -> None:
    session = Redactor().session()
    session.redact("dana@acme.example")
    assert session.restore("[EMAIL_1] and [EMAIL_9] and [card_1]") == "dana@acme.example and [EMAIL_9] and [card_1]"


def test_redacted_text_holds_nothing_detectable() -> None:
    redactor = Redactor()
    redacted = redactor.session().redact([row["text"] for row in _labelled()])
    assert all(redactor.detect(text) == [] for text in redacted)


WORDS = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9), min_size=1, max_size=4)
EMAILS = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,6})?(\+[a-z]{1,5})?", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,8}[a-z0-9]", fullmatch=True),
    st.sampled_from(["com", "org", "example", "de", "co.uk"]),
)
PHONES = st.one_of(
    st.builds("+44 20 {} {}".format, st.integers(1000, 9999), st.integers(1000, 9999)),
    st.builds("({}) {}-{:04d}".format, st.integers(200, 999), st.integers(200, 999), st.integers(0, 9999)),
    st.builds("06 {} {} {} {}".format, *[st.integers(10, 99)] * 4),
)


def _card(body: str, spaced: bool) -> str:
    number = next(body + d for d in "0123456789" if luhn_valid(body + d))
    return " ".join(number[i : i + 4] for i in range(0, 16, 4)) if spaced else number


CARDS = st.builds(_card, st.from_regex(r"[456][0-9]{14}", fullmatch=True), st.booleans())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(WORDS, st.one_of(EMAILS, PHONES, CARDS)), max_size=6), WORDS)
def test_round_trip_property(pieces: list[tuple[list[str], str]], tail: list[str]) -> None:
    text = " ".join([word for words, value in pieces for word in [*words, value]] + tail)
    values = {value for _, value in pieces}
    session = Redactor().session()
    redacted = session.redact(text)
    assert session.restore(redacted) == text
    assert set(session.replaced.values()) == values
    assert Redactor().detect(redacted) == []


# ----------------------------------------------------------------------------------- configuration


def test_custom_pattern_is_detected_and_redacted() -> None:
    redactor = Redactor(custom=[CustomPattern("employee_id", r"\bEMP-\d{6}\b", "pii")])
    session = redactor.session()
    assert session.redact("EMP-004211 mailed dana@acme.example") == "[EMPLOYEE_ID_1] mailed [EMAIL_1]"
    assert session.found_classes() == {"pii", "contact"}
    assert redactor.classes({"who": ["EMP-004211"]}) == {"pii"}


def test_on_overlap_the_longer_of_builtin_and_custom_wins() -> None:
    account = CustomPattern("account_ref", r"ACCT-[\d ]+\d", "financial")
    found = Redactor(custom=[account]).detect("ref ACCT-4111 1111 1111 1111")
    assert [(d.kind, d.text) for d in found] == [("account_ref", "ACCT-4111 1111 1111 1111")]
    user = CustomPattern("user", r"dana", "pii")
    assert [d.kind for d in Redactor(custom=[user]).detect("dana@acme.example")] == ["email"]


def test_a_bad_custom_regex_names_the_pattern() -> None:
    with pytest.raises(ConfigError, match=r"'ticket_ref'.*missing \)"):
        Redactor(custom=[CustomPattern("ticket_ref", r"TCK-(\d+", "pii")])


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ConfigError, match="'ssn'"):
        Redactor(kinds=["email", "ssn"])


def test_custom_names_must_make_placeholders() -> None:
    with pytest.raises(ConfigError, match="invalid"):
        Redactor(custom=[CustomPattern("employee id", r"E\d+", "pii")])
    with pytest.raises(ConfigError, match="built-in"):
        Redactor(custom=[CustomPattern("email", r"E\d+", "pii")])


def test_classes_of_a_nested_value() -> None:
    value = {"a": [{"b": "write to dana@acme.example"}], "c": ("card 5555 5555 5555 4444",), "dana@x.example": 1}
    assert Redactor().classes(value) == {"contact", "payment_card"}
    assert Redactor().classes({"n": 4111111111111111, "s": "nothing here"}) == set()
    assert DATA_CLASSES["iban"] == "financial"
