"""A `bgmaker serve` app on the tiny test model, served by uvicorn on 127.0.0.1 in a background thread.

One server per test process, shared by tests/test_serve_api.py and tests/test_serve_browser.py:
the model loads once (a few seconds) and both files talk to the same loopback port.
"""
import http.client
import json
import threading
import time
from urllib.parse import urlsplit

_served = {}
_lock = threading.Lock()


def serve_tiny(tiny_model):
    """(base URL, BeatGenerator) of the shared server on the tiny model, started on first use."""
    return serve_checkpoint(tiny_model["checkpoint"], "tiny test model")


def serve_checkpoint(checkpoint, label):
    """(base URL, BeatGenerator) of a server on `checkpoint` (one per checkpoint per process), started on first use."""
    with _lock:
        key = str(checkpoint)
        if key not in _served:
            from bgmaker.generation.generator import BeatGenerator
            from bgmaker.serve import app as web, server as serving
            generator = BeatGenerator.load(checkpoint=checkpoint)
            from pathlib import Path

            from bgmaker.humanize.template import TemplateHumanizer  # the shipped template (the models dir is a test's)
            humanizer = TemplateHumanizer.load(Path(__file__).resolve().parents[1] / "models" / "humanize" / "template.npz")
            app = web.create_app(generator, label, humanizer=humanizer)
            app.state.machine.warm_up()
            sock = serving.listen("127.0.0.1", 0)
            server = serving.make_server(app)
            thread = threading.Thread(target=server.run, kwargs=dict(sockets=[sock]), daemon=True)
            thread.start()
            deadline = time.monotonic() + 30
            while not server.started:
                assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
                time.sleep(0.05)
            _served[key] = dict(url=serving.url_of(sock), generator=generator, server=server)
        return _served[key]["url"], _served[key]["generator"]


def request(url, method, path, body=None, headers=None, timeout=60):
    """(status, headers, body bytes) of one request; `body` a dict is sent as JSON."""
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", "tests only talk to the loopback server"
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def api(url, path, body=None, **kwargs):
    """(status, parsed JSON) of a POST (or a GET when body is None)."""
    status, _, data = request(url, "GET" if body is None else "POST", path, body, **kwargs)
    return status, json.loads(data)
