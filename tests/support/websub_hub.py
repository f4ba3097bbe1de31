"""A real WebSub hub for the integration tests: the hub of Flask-WebSub
(PyPI), which follows the W3C recommendation, and which we did not write.

Flask-WebSub runs its hub tasks (verification of intent, fetching a topic,
delivering it) on Celery; here a small stand-in runs each task on a thread,
with the library's own retries and backoff, so no broker is needed. Its
state is an SQLite file in DIR. Each request to the hub is appended as a
JSON line to DIR/requests.jsonl. Prints "READY <port>" once listening;
stops when stdin closes.

    python3 websub_hub.py --port 0 --dir /tmp/hub [--algorithm sha256]

The hub is at http://127.0.0.1:<port>/hub. Publish with hub.mode=publish
and hub.url (or hub.topic); the topic must send Link headers naming the
hub (rel="hub") and itself (rel="self"), as the library insists.
"""

import argparse
import json
import logging
import os
import sys
import threading

import requests.structures
from flask import Flask, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.serving import make_server

import flask_websub.hub.tasks as hub_tasks
from flask_websub.hub import Hub, SQLite3HubStorage


class _Retry(Exception):
    def __init__(self, countdown):
        self.countdown = countdown


class _Bound:
    """What a Celery task with bind=True sees as `self`."""

    def __init__(self, retries):
        self.request = type("Request", (), {"retries": retries})()

    def retry(self, countdown=0, **_):
        raise _Retry(countdown)


class _Task:
    def __init__(self, fn, bind=False, max_retries=None, **_):
        self.fn, self.bind, self.max_retries = fn, bind, max_retries

    def _run(self, args, kwargs, retries=0):
        try:
            if self.bind:
                self.fn(_Bound(retries), *args, **kwargs)
            else:
                self.fn(*args, **kwargs)
        except _Retry as r:
            if self.max_retries is None or retries < self.max_retries:
                timer = threading.Timer(r.countdown, self._run, (args, kwargs, retries + 1))
                timer.daemon = True
                timer.start()
        except Exception:
            logging.exception("hub task %s failed", self.fn.__name__)

    def delay(self, *args, **kwargs):
        threading.Thread(target=self._run, args=(args, kwargs), daemon=True).start()

    __call__ = delay


class ThreadCelery:
    """The part of a Celery app Flask-WebSub's hub uses."""

    def task(self, fn=None, **opts):
        if callable(fn):
            return _Task(fn)
        return lambda f: _Task(f, **opts)

    def add_periodic_task(self, *_, **__):
        pass  # expired subscriptions are skipped when read


# The library forwards the topic's response headers with the body it sends;
# those describing the transfer would not fit the body as re-sent.
_TRANSFER = {"transfer-encoding", "content-encoding", "content-length", "connection", "keep-alive"}
_get_new_content = hub_tasks.get_new_content


def _without_transfer_headers(config, topic_url):
    body, update = _get_new_content(config, topic_url)
    update["headers"] = requests.structures.CaseInsensitiveDict(
        {k: v for k, v in update["headers"].items() if k.lower() not in _TRANSFER}
    )
    return body, update


hub_tasks.get_new_content = _without_transfer_headers


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--algorithm", default="sha256")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    log_path = os.path.join(args.dir, "requests.jsonl")
    lock = threading.Lock()

    app = Flask("websub_hub")
    app.config.update(PUBLISH_SUPPORTED=True, HUB_MIN_LEASE_SECONDS=1)
    hub = Hub(
        SQLite3HubStorage(os.path.join(args.dir, "hub.sqlite3")),
        ThreadCelery(),
        SIGNATURE_ALGORITHM=args.algorithm,
        BACKOFF_BASE=0.5,
        MAX_ATTEMPTS=5,
        REQUEST_TIMEOUT=3,
    )

    @app.before_request
    def record_and_accept_hub_url():
        if request.method != "POST":
            return
        form = request.form
        # Publishers commonly send hub.url; the library reads hub.topic.
        if "hub.topic" not in form and "hub.url" in form:
            request.form = ImmutableMultiDict(list(form.items(multi=True)) + [("hub.topic", form["hub.url"])])
        with lock, open(log_path, "a") as f:
            f.write(json.dumps(dict(form.items())) + "\n")

    app.register_blueprint(hub.build_blueprint(url_prefix="/hub"))
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"READY {server.server_port}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
