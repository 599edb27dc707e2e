"""/metrics in Prometheus' text format, read from the database at each scrape: the rows are the
truth shared by every process on every machine, so any web process gives the same answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count, F
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gallery.models import Generation
from gallery.ops.health import live_workers

# Durations and errors are of the generations that finished in this window.
RECENT = timedelta(hours=1)
QUANTILES = (0.5, 0.9, 0.99)


def quantiles(values: list[float]) -> dict[float, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    return {q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in QUANTILES}


class AtelierCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()

        queue = GaugeMetricFamily(
            "atelier_queue_depth",
            "Generations waiting for a worker, and tasks ready to run, right now.",
            labels=["kind"],
        )
        queue.add_metric(
            ["generations"], Generation.objects.filter(status=Generation.Status.QUEUED).count()
        )
        queue.add_metric(["tasks"], DBTaskResult.objects.filter(status="READY").count())
        yield queue

        by_status = GaugeMetricFamily(
            "atelier_generations", "Generations in each state (all time).", labels=["status"]
        )
        counts = dict(
            Generation.objects.order_by().values_list("status").annotate(count=Count("pk"))
        )
        for status in Generation.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status

        recent = Generation.objects.filter(finished_at__gte=now - RECENT).order_by()
        errors = GaugeMetricFamily(
            "atelier_generation_errors_recent",
            "Generations that finished in the last hour with an error, by kind.",
            labels=["kind"],
        )
        for kind, count in (
            recent.exclude(error_kind="").values_list("error_kind").annotate(count=Count("pk"))
        ):
            errors.add_metric([kind], count)
        yield errors

        timings = list(
            recent.exclude(started_at=None)
            .annotate(total=F("finished_at") - F("started_at"))
            .values_list("total", "api_ms")
        )
        for name, help_text, values in (
            (
                "atelier_generation_duration_seconds_recent",
                "From a worker's first claim to the end state, last hour.",
                [total.total_seconds() for total, _ in timings if total is not None],
            ),
            (
                "atelier_images_api_seconds_recent",
                "Time spent in the images API call, last hour.",
                [api_ms / 1000 for _, api_ms in timings if api_ms is not None],
            ),
        ):
            family = GaugeMetricFamily(name, help_text, labels=["quantile"])
            for q, value in quantiles(values).items():
                family.add_metric([str(q)], value)
            yield family
            yield GaugeMetricFamily(f"{name}_count", f"How many ({name}).", value=len(values))

        yield GaugeMetricFamily(
            "atelier_workers_alive",
            "Worker processes whose heartbeat is recent.",
            value=live_workers(),
        )


def render() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AtelierCollector())
    return generate_latest(registry)
