"""SQLite storage: the connection, migrations and small repository functions per table group."""

from storage.db import LATEST_VERSION, Database, DatabaseError, utcnow

__all__ = ["LATEST_VERSION", "Database", "DatabaseError", "utcnow"]
