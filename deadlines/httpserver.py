"""How `serve` runs waitress: its settings, a bound server, the addresses it listens on, a
clean stop, and the fix for `Expect: 100-continue` on requests without a body.
"""

from __future__ import annotations

import resource
from typing import Any

from .serverlog import install_log_scrubbing


def _connection_limit(wanted: int = 1000) -> int:
    """As many connections as the file descriptors allow, up to `wanted`: waitress stops
    accepting at its limit (default 100, so 101 idle sockets shut everyone out), and past the
    descriptor limit accept() fails in a loop."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(100, min(wanted, soft - 64))


def waitress_settings() -> dict[str, Any]:
    """How `serve` runs waitress. Idle and half-open connections cost no thread in waitress
    (a request reaches a thread only once its headers are in), only a connection slot."""
    return {
        "connection_limit": _connection_limit(),
        # select() cannot watch descriptors above 1024; poll() can
        "asyncore_use_poll": True,
        # a connection that sends nothing for 30 s is closed; checked every 5 s
        "channel_timeout": 30,
        "cleanup_interval": 5,
        "threads": 8,
        # a feed request is a request line and a few headers, never a body
        "max_request_header_size": 32 * 1024,
        "max_request_body_size": 64 * 1024,
        "ident": "deadlines",
    }


def _expect_fix() -> type:
    """A waitress channel whose requests ignore `Expect: 100-continue` when there is no body.

    waitress 3.0 answers the expectation with "100 Continue" and then marks the request as
    incomplete, waiting for a body that a GET never sends: the client gets the 100 and nothing
    else. RFC 9110 (10.1.1) lets a server skip the 100 when the framing says there is no
    content, and then the request is complete at once."""
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser

    class Parser(HTTPRequestParser):  # type: ignore[misc]
        def parse_header(self, header_plus: bytes) -> None:
            super().parse_header(header_plus)
            if self.body_rcv is None:
                self.expect_continue = False

    class Channel(HTTPChannel):  # type: ignore[misc]
        parser_class = Parser

    return Channel


def make_server(app: Any, host: str, port: int, **overrides: Any) -> Any:
    """A waitress server for `app`, bound and listening (call `.run()` to serve), configured
    by `waitress_settings()` with `overrides` on top."""
    from waitress.server import BaseWSGIServer, create_server

    install_log_scrubbing()
    server = create_server(app, host=host, port=port, **{**waitress_settings(), **overrides})
    channel = _expect_fix()
    for listener in _listeners(server):
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = channel
    return server


def _listeners(server: Any) -> list[Any]:
    # one address: the server itself; several (a name that resolves to IPv4 and IPv6): a
    # MultiSocketServer whose map holds one server per address
    mapping = getattr(server, "map", None)
    if mapping is None:
        return [server]
    return list(mapping.values())


def listening_urls(server: Any) -> list[str]:
    """The addresses waitress really bound (port 0 becomes the port the system picked)."""
    listen = getattr(server, "effective_listen", None) or \
        [(server.effective_host, server.effective_port)]
    urls = []
    for host, port in listen:
        shown = f"[{host}]" if ":" in str(host) else host
        urls.append(f"http://{shown}:{port}/")
    return urls


def stop_server(server: Any) -> None:
    """Stops a server that runs in another thread: its sockets are closed by its own loop
    (closing them from here races with select/poll), which then returns from `run()`."""
    listeners = _listeners(server)

    def close_all() -> None:
        for dispatcher in list(server._map.values() if hasattr(server, "_map")
                               else server.map.values()):
            dispatcher.close()

    # every listener of a MultiSocketServer shares one trigger; the map also holds channels
    trigger = next((t for t in (getattr(x, "trigger", None) for x in listeners)
                    if t is not None), None)
    if trigger is not None:
        trigger.pull_trigger(close_all)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
