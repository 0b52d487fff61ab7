"""HTTP connections for pambot's servers: uvicorn's HTTP/1.1 with a deadline and a cap.

`pambot serve` (bot.server) and `pambot socket`'s health port (bot.socket_mode) both take
connections through `Protocol`, so a slow or idle client costs neither a thread nor a
connection for long:

- one deadline for a whole request, headers and body: a connection that has not sent one
  within REQUEST_TIMEOUT_S of opening, or of its last answer, is closed, however its bytes
  trickle in;
- a cap on connections per process (`Protocol.max_connections`, see `connection_cap`): past
  it, the connection that has waited longest for its request is closed to make room.

Measured first: uvicorn times out only an idle keep-alive connection (not one that sends a
request slowly), its `limit_concurrency` answers 503 to new requests but keeps accepting
connections, and gunicorn applies `worker_connections` to its threaded and async workers
only; so neither gives these guarantees to an ASGI app.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Callable

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("pambot.server")

# Slack sends a request at once; a request not whole within this long is not from Slack.
REQUEST_TIMEOUT_S = 5.0
# Open files a process keeps for itself beyond its connections: the log, Slack calls, imports.
OWN_FILES = 64


class Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 with one deadline per request and a cap on connections.

    A connection must send a whole request, headers and body, within REQUEST_TIMEOUT_S of
    opening or of its last answer, or it is closed (uvicorn waits for headers forever, and
    for a body as long as its bytes keep coming). Past `max_connections` in this worker, the
    connection that has waited longest for its request is closed to make room.
    """

    # Set for each process by its server (see `connection_cap`).
    max_connections = 1000
    _request_timer: asyncio.TimerHandle | None = None
    _waiting_since = 0.0
    _answered_one = False
    _close_after_answer = False
    _warned_at: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_request_timer()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def on_response_complete(self) -> None:
        self._answered_one = True
        super().on_response_complete()
        if self._close_after_answer:
            super().shutdown()
        else:
            self._arm_request_timer()

    def shutdown(self) -> None:
        """A graceful stop (SIGTERM; a SIGHUP's rules reload retires every worker) closes
        idle connections. One accepted just before, whose request is still on its way, is not
        idle: uvicorn would close it unanswered, and the request would fail. Answer it, then
        close; the request deadline closes it if no request comes."""
        if self.cycle is None and not self._answered_one:
            self._close_after_answer = True
            return
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
        super().connection_lost(exc)

    def _arm_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
        self._waiting_since = self.loop.time()
        self._request_timer = self.loop.call_later(REQUEST_TIMEOUT_S, self._request_late)

    def _waiting(self) -> bool:
        """True while the connection owes its request: no headers yet, or part of the body."""
        cycle = self.cycle
        return (cycle is None or cycle.response_complete
                or (cycle.more_body and not cycle.response_started))

    def _request_late(self) -> None:
        if self._waiting() and not self.transport.is_closing():
            self.transport.close()

    def _make_room(self) -> None:
        """Close the connection that has waited longest for its request (this one if every
        other is being answered)."""
        waiting = [c for c in self.connections
                   if isinstance(c, Protocol) and c._waiting() and not c.transport.is_closing()]
        oldest = min(waiting, key=lambda c: c._waiting_since, default=self)
        oldest.transport.close()
        now = self.loop.time()
        if Protocol._warned_at is None or now - Protocol._warned_at > 60:
            Protocol._warned_at = now
            log.warning("%d connections open, the most this process takes (the connection "
                        "limit, or the open-file limit); closing the oldest that has not sent "
                        "its whole request", len(self.connections))


def connection_cap(worker_connections: int) -> int:
    """How many connections a worker holds: `worker_connections`, or fewer if the open-file
    limit (`ulimit -n`, systemd's LimitNOFILE) leaves too little room for OWN_FILES more."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max(1, worker_connections)
    return max(1, min(worker_connections, soft - OWN_FILES))


async def respond(send: Callable, status: int, text: str,
                  headers: list[tuple[str, str]] | None = None) -> None:
    """Send a whole ASGI response: `text` (UTF-8, text/plain unless `headers` say)."""
    data = text.encode("utf-8")
    if not any(k.lower() == "content-type" for k, _ in headers or ()):
        headers = [("content-type", "text/plain; charset=utf-8"), *(headers or ())]
    await send({"type": "http.response.start", "status": status, "headers": [
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers),
        (b"content-length", str(len(data)).encode()),
    ]})
    await send({"type": "http.response.body", "body": data})


_out_of_files_at: float | None = None


def out_of_files(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """The event loop's error handler: asyncio's traceback for a connection accepted with no
    file left (a burst of connections outran the cap) as one line a minute; asyncio itself
    stops accepting for a second meanwhile. Anything else as asyncio reports it."""
    global _out_of_files_at
    if context.get("message") != "socket.accept() out of system resource":
        loop.default_exception_handler(context)
        return
    if _out_of_files_at is None or loop.time() - _out_of_files_at > 60:
        _out_of_files_at = loop.time()
        log.warning("out of open files (limit %d): not accepting connections for a second; "
                    "raise the limit (systemd's LimitNOFILE) or lower the connection limit",
                    resource.getrlimit(resource.RLIMIT_NOFILE)[0])
