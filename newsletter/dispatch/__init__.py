"""Dispatch: sending an issue to whole lists, exactly once, resumably (see engine.py)."""
