"""The digest: the weekly issue as editors write it (models) and how it is read (load)."""

from newsletter.digest.load import load_digest, parse_digest
from newsletter.digest.models import Digest, Hero, Item, Quote, json_schema

__all__ = ["Digest", "Hero", "Item", "Quote", "json_schema", "load_digest", "parse_digest"]
