"""The article's Flask app, written again for the lab: GET /?delay=S calls the slow API
with requests and answers 'Hi there! ' + its body. No gevent here: the servers that
want it import patched.py (monkey patching first), the others import this module.

Configuration, the lab's names: API_URL, else http://127.0.0.1:$PORT_API/.
"""

import os

import requests
from flask import Flask, request

API_URL = os.environ.get("API_URL") or "http://127.0.0.1:{}/".format(
    os.environ.get("PORT_API", "4000")
)

app = Flask(__name__)


def delay_arg():
    """?delay=S as a float; absent or empty means 1 s, as in the article."""
    return float(request.args.get("delay") or 1)


@app.route("/")
def index():
    resp = requests.get(API_URL, params={"delay": delay_arg()}, timeout=30)
    return "Hi there! " + resp.text


@app.route("/healthz")
def healthz():
    return "ok"
