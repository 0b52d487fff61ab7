"""The Datasette plugin of `pambot log serve`: every request must be for the dashboard's host.

A browser names the host it meant in the `Host` header. A page of another site whose name an
attacker has pointed at 127.0.0.1 (DNS rebinding) sends that site's name, and gets 400
instead of the query log. The names allowed are in the metadata's plugin settings
(`plugins: {pambot-host-check: {hosts: [...]}}`), written by `bot.dashboard.serve`.
"""

from __future__ import annotations

from datasette import hookimpl

PLUGIN = "pambot-host-check"


@hookimpl
def asgi_wrapper(datasette):
    """Datasette's hook: middleware around its ASGI app."""
    hosts = frozenset((datasette.plugin_config(PLUGIN) or {}).get("hosts", ()))
    return lambda app: host_check(app, hosts)


def host_check(app, hosts: frozenset[str]):
    """ASGI middleware: `app`, but 400 for a request whose `Host` is not one of `hosts`."""

    async def checked(scope, receive, send):
        if scope["type"] == "http" and _host(scope) not in hosts:
            body = b"This dashboard is served only as its own host name."
            await send({"type": "http.response.start", "status": 400, "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return checked


def _host(scope: dict) -> str:
    """The host name a request was sent to, without its port, in lower case."""
    value = next((v for k, v in scope.get("headers", ()) if k == b"host"), b"")
    name = value.decode("latin-1").strip().lower()
    if name.startswith("["):
        return name[1:name.find("]")] if "]" in name else name
    return name.rsplit(":", 1)[0] if name.count(":") == 1 else name
