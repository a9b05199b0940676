"""pg_app.py with psycogreen: psycopg2 waits on gevent, the loop stays free."""

from psycogreen.gevent import patch_psycopg

patch_psycopg()

from pg_app import app  # noqa: E402,F401
