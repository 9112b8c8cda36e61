"""The Python SDK surface is a decision: changing it must change this test."""

import baton


def test_public_surface() -> None:
    assert sorted(baton.__all__) == ["BatonError", "ContractViolation", "SpecError", "StepContext", "StepFailed"]
    for name in baton.__all__:
        assert getattr(baton, name).__module__.startswith("baton.")
