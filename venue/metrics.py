"""The Prometheus metrics endpoint of a venue process (prometheus-client)."""

from __future__ import annotations

from prometheus_client import Gauge, start_http_server

from venue.embedded import EmbeddedError, port_in_use

COMPONENT_UP = Gauge("venue_component_up", "1 while the component is running", ["component"])


def serve_metrics(host: str, port: int, component: str) -> None:
    """Start the /metrics endpoint in a daemon thread (port 0 disables it)."""
    if port == 0:
        return
    if port_in_use(host, port):
        raise EmbeddedError(f"port {port} is in use: set metrics.port to a free port (0 disables metrics)")
    start_http_server(port, addr=host)
    COMPONENT_UP.labels(component).set(1)
