"""The SQL store's schema and its history: Alembic migrations for SQLite and PostgreSQL.

``migrations.store`` brings a store to the head revision (``upgrade_store``), tells where it is
(``current_revision``) and applies the start-up rule (``prepare_store``: the embedded SQLite store
is upgraded in place, a PostgreSQL store behind the code is refused until an operator runs
``xiansuo db upgrade``). ``env.py`` and ``versions/`` are Alembic's: revision 0001 is the schema of
the first release (commit a401d81) as its ``create_all`` made it, and every later revision is a
step from there. The sealed complainant store is another database, outside this history.
"""
