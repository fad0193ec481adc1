"""Prometheus metrics of the queue API, one registry per process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter("queue_http_requests_total", "HTTP requests by route and status", ["route", "status"], registry=r)
        self.latency = Histogram("queue_http_request_seconds", "HTTP request duration", ["route"], registry=r)
        self.pool_size = Gauge("queue_db_pool_connections", "Connections open in the pool", registry=r)
        self.pool_idle = Gauge("queue_db_pool_idle", "Idle connections in the pool", registry=r)
        self.pool_max = Gauge("queue_db_pool_max", "Pool size limit", registry=r)
        self.sockets = Gauge("queue_websockets_open", "Event WebSockets open", registry=r)
        self.events_sent = Counter("queue_events_sent_total", "Events sent over WebSockets", registry=r)
