"""Database: typed SQLAlchemy models, async sessions, the embedded PostgreSQL, migrations."""
