"""Serving the beat machine: a listening socket, its URL, and the uvicorn server around the app.

Apart from the app (bgmaker.serve.app) and imported first by `bgmaker serve`, so that a busy port
or a bad address is one line in a second, before note_seq, Starlette or TensorFlow load.
"""
import ipaddress
import socket

LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]  # Host headers of a loopback-only server


def is_loopback(host):
    """Whether listening on `host` serves this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen(host, port):
    """A socket bound to (host, port), ready for uvicorn; a one-line OSError when it cannot be."""
    sock = None
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as e:
        if sock is not None:
            sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.setblocking(False)
    return sock


def url_of(sock):
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def make_server(app, log_level="warning"):
    """A uvicorn Server for `app`; run it with server.run(sockets=[listen(host, port)]).

    Ctrl-C stops it (uvicorn's own signal handling, in the main thread); from another
    thread set `server.should_exit = True`.
    """
    import uvicorn
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off",
                            limit_concurrency=64, timeout_graceful_shutdown=2)
    return uvicorn.Server(config)
