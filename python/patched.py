"""app.py with gevent's monkey patching done first: every socket the app and requests
open becomes cooperative (what uWSGI --gevent and Gunicorn's gevent worker serve)."""

from gevent import monkey

monkey.patch_all()

from app import app  # noqa: E402,F401
