"""A claimed batch kept as columns (ClaimedRows, issue 16) reads exactly like the list of
Claimed tuples it stands for: length, indexing, slices, iteration and its delivery ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.store import Claimed, ClaimedRows, delivery_ids_of

claimed_lists = st.lists(
    st.builds(
        Claimed,
        st.integers(1, 2**63 - 1),
        st.integers(1, 2**63 - 1),
        st.text(max_size=12),
        st.none() | st.text(max_size=12),
    ),
    max_size=20,
)


@given(claimed_lists, st.integers(-25, 25), st.integers(-25, 25), st.integers(-3, 3))
def test_columns_read_like_the_list(
    listed: list[Claimed], start: int, stop: int, step: int
) -> None:
    """Every way the dispatcher reads a batch gives what the plain list gives."""
    rows = ClaimedRows.of(listed)
    assert len(rows) == len(listed)
    assert list(rows) == listed
    assert all(isinstance(reader, Claimed) for reader in rows)
    for index in range(-len(listed), len(listed)):
        assert rows[index] == listed[index]
    if step:
        part = slice(start, stop, step)
        assert list(rows[part]) == listed[part]
        assert isinstance(rows[part], ClaimedRows)
    assert list(delivery_ids_of(rows)) == [c.delivery_id for c in listed]
    assert list(delivery_ids_of(listed)) == [c.delivery_id for c in listed]
    assert bool(rows) == bool(listed)


def test_columns_must_be_as_long_as_each_other() -> None:
    """A batch whose columns disagree in length is a bug, refused at once."""
    with pytest.raises(ValueError, match="as long"):
        ClaimedRows([1, 2], [3, 4], ["a@example.com"], [None, None])
