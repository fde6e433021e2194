"""The public API: every name in rmt_alpha.__all__ imports and is documented."""

import rmt_alpha


def test_every_public_name_imports_and_has_a_docstring():
    assert len(rmt_alpha.__all__) == len(set(rmt_alpha.__all__))
    for name in rmt_alpha.__all__:
        obj = getattr(rmt_alpha, name)
        assert obj.__doc__ and obj.__doc__.strip(), f"rmt_alpha.{name} has no docstring"
