"""Prometheus metrics of one server: requests, errors, latency per endpoint and model, and the
version of every model (``prometheus_client``, in a registry of the app's own: nothing global)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

#: latency buckets (seconds): fine below a few ms, where a healthy server lives
BUCKETS = (0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01,
           0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The server's counters; :meth:`render` gives the text exposition format."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("xmr_requests", "Requests answered, by endpoint, model and "
                                "status class", ("endpoint", "model", "status"),
                                registry=self.registry)
        self.latency = Histogram("xmr_request_seconds", "Time to answer a request (body read to "
                                 "response built)", ("endpoint", "model"), buckets=BUCKETS,
                                 registry=self.registry)
        self.model_info = Gauge("xmr_model_info", "1 for the version each model serves",
                                ("model", "format", "version"), registry=self.registry)
        self.model_generation = Gauge("xmr_model_generation", "Loads of each model (1 + reloads)",
                                      ("model",), registry=self.registry)
        self._info_labels: dict[str, tuple[str, str, str]] = {}
        self.reloads = Counter("xmr_reloads", "Reloads by model and outcome",
                               ("model", "outcome"), registry=self.registry)

    def observe(self, endpoint: str, model: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, model, f"{status // 100}xx").inc()
        self.latency.labels(endpoint, model).observe(seconds)

    def model_loaded(self, name: str, fmt: str, version: str, generation: int) -> None:
        previous = self._info_labels.pop(name, None)
        if previous is not None:  # one series per model: the version it serves now
            self.model_info.remove(*previous)
        self._info_labels[name] = (name, fmt, version)
        self.model_info.labels(name, fmt, version).set(1)
        self.model_generation.labels(name).set(generation)

    def render(self) -> bytes:
        return generate_latest(self.registry)
