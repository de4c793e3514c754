"""The digest: the weekly issue as editors write it (models), how it is read (load), and
the skeleton of a new one (skeleton)."""

from newsletter.digest.load import load_digest, parse_digest
from newsletter.digest.models import SCHEMA_KEY, Digest, Hero, Item, Quote, json_schema
from newsletter.digest.skeleton import SCHEMA_FILE, schema_text, skeleton, skeleton_text

__all__ = [
    "SCHEMA_FILE",
    "SCHEMA_KEY",
    "Digest",
    "Hero",
    "Item",
    "Quote",
    "json_schema",
    "load_digest",
    "parse_digest",
    "schema_text",
    "skeleton",
    "skeleton_text",
]
