"""The article's bonus app: per request, the slow API with delay/2, then
SELECT NOW(), pg_sleep(delay/2) through psycopg2, on a new connection.

gevent patches the sockets (requests yields), but psycopg2 talks to PostgreSQL
through libpq in C, which gevent cannot patch: the query blocks the event loop.
pg_patched.py adds psycogreen, which makes psycopg2 wait on gevent instead.

DATABASE_URL: the lab's throwaway PostgreSQL (role, password and database example).
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402

import psycopg2  # noqa: E402
import requests  # noqa: E402
from flask import Flask, request  # noqa: E402

API_URL = os.environ.get("API_URL") or "http://127.0.0.1:{}/".format(
    os.environ.get("PORT_API", "4000")
)
DATABASE_URL = os.environ.get(
    "DATABASE_URL", "postgresql://example:example@127.0.0.1:5432/example"
)

app = Flask(__name__)


@app.route("/")
def index():
    delay = float(request.args.get("delay") or 1)
    conn = psycopg2.connect(DATABASE_URL)
    try:
        resp = requests.get(API_URL, params={"delay": delay / 2}, timeout=30)
        cur = conn.cursor()
        cur.execute("SELECT NOW(), pg_sleep(%s)", (delay / 2,))
        row = cur.fetchall()[0]
    finally:
        conn.close()
    return "Hi there! {} {}".format(resp.text, row)


@app.route("/healthz")
def healthz():
    psycopg2.connect(DATABASE_URL).close()
    return "ok"
