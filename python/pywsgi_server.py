"""The app on gevent's own WSGI server: one process, one event loop.

PATCH=0 skips monkey patching: requests then blocks the whole loop while it waits
(the article's "gevent without monkey patching").
"""

import os

if os.environ.get("PATCH", "1") != "0":
    from gevent import monkey

    monkey.patch_all()

from gevent.pywsgi import WSGIServer  # noqa: E402

from app import app  # noqa: E402

host = os.environ.get("HOST", "127.0.0.1")
port = int(os.environ.get("PORT_APP", "3000"))
# log=None: no access log line per request (the Rust apps write none either).
WSGIServer((host, port), app, log=None).serve_forever()
