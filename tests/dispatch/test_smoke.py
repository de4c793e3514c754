"""Smoke: one send through the outbox, then a second run that sends nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dispatch.support import make_world


def test_outbox_send_then_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every member is sent to once; running again sends nothing."""
    world = make_world(tmp_path, monkeypatch)
    world.subscribe(250)
    report = world.send(world.transport())
    assert report.counts == {"accepted": 250}
    assert report.send.state == "finished"
    again = world.send(world.transport())
    assert again.already_finished
    assert again.progress.requests == 0
