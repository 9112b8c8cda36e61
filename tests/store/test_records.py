"""Values computed at the store boundary."""

from __future__ import annotations

import pytest

from baton.store.records import edit_size


def test_edit_size_is_zero_for_no_change_and_grows_with_what_the_edit_rewrote() -> None:
    draft = {"subject": "Your refund", "body": "Dear Ana, we have refunded the order in full. Regards, Support."}
    typo = {**draft, "body": draft["body"].replace("refunded", "refundd")}
    rewritten = {"subject": "Order 1182", "body": "Hello. Please send us a photo of the damaged item first."}

    assert edit_size(draft, dict(reversed(list(draft.items())))) == 0.0  # key order is not an edit
    small, large = edit_size(draft, typo), edit_size(draft, rewritten)
    assert 0.0 < small < 0.05
    assert 0.4 < large <= 1.0
    assert edit_size(None, {"a": 1}) == pytest.approx(1.0, abs=0.35)  # nothing was shown: mostly new text


def test_edit_size_of_long_outputs_counts_a_small_edit_as_small() -> None:
    long_text = " ".join(f"word{i}" for i in range(20_000))
    size = edit_size({"text": long_text}, {"text": long_text + " appended"})
    assert 0.0 < size < 0.001
