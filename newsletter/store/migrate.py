"""Running the store's Alembic migrations from inside the package.

No alembic.ini is needed: the script location is this package's
``migrations`` folder, and each command is given an open connection, so the
same code migrates SQLite and PostgreSQL. Upgrades run in one transaction
(PostgreSQL and SQLite both have transactional DDL), so a failed upgrade
leaves the store as it was.

Every command opens the store and checks its schema, so the check reads the
version table directly against `HEAD`; Alembic itself (some 12 MB and a
tenth of a second) is loaded only when there is something to migrate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, String, column, inspect, select, table

from newsletter.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

SCRIPT_LOCATION = Path(__file__).with_name("migrations")
HEAD = "0010"  # the newest migration in migrations/versions: update it with each new one
# (tests/store/test_migrations.py fails until it matches)
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class SchemaState:
    """Where a store's schema is against what this version of the code expects."""

    current: str | None  # None: an empty store
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def schema_state(connection: Connection) -> SchemaState:
    """The store's current revision and this code's head."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return SchemaState(current=None, head=HEAD)
    query = select(column("version_num", String)).select_from(table(VERSION_TABLE))
    current = connection.execute(query).scalar()
    return SchemaState(current=current, head=HEAD)


def script_head() -> str | None:
    """The newest revision among the migration scripts (HEAD must equal it)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(SCRIPT_LOCATION)).get_current_head()


def upgrade(connection: Connection, target: str = "head") -> None:
    """Migrate the store up to `target`, refusing a store newer than this code."""
    from alembic import command

    state = schema_state(connection)
    if state.current is not None and not _is_known(state.current):
        raise StoreError(
            f"the store's schema ({state.current}) is newer than this version "
            f"of newsletter knows (up to {state.head})",
            hint="upgrade newsletter on this host before using this store",
        )
    command.upgrade(_alembic_config(connection), target)


def downgrade(connection: Connection, target: str) -> None:
    """Migrate the store down to `target` ("base" empties it): for developers."""
    from alembic import command

    command.downgrade(_alembic_config(connection), target)


def _alembic_config(connection: Connection) -> AlembicConfig:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


def _is_known(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    try:
        return ScriptDirectory(str(SCRIPT_LOCATION)).get_revision(revision) is not None
    except (RevisionError, CommandError):
        return False
