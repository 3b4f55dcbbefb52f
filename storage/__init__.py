"""Persistence: SQLAlchemy 2 models, Alembic migrations and one repository module per noun."""
