"""Prometheus metrics, served at ``/metrics`` (views/metrics.py).

Two kinds of series:

* What the platform is doing, read at scrape time from Redis and the database,
  so it is the same whichever web process answers and however many workers run
  on other hosts (``StateCollector``): the RQ queue's length, submissions
  queued and running, run-time and latency histograms of finished runs, and
  failures by coarse reason. Each is one grouped query; none grows with the
  number of challenges or teams.
* HTTP request latency by endpoint and status code, measured in this process by
  before/after request hooks (``init_app``). Under gunicorn each worker process
  has its own; with ``PROMETHEUS_MULTIPROC_DIR`` set (read by prometheus_client
  itself), every process writes its samples there and a scrape adds them all up.

Who may scrape: ``scrape_refusal`` (a token, or loopback when none is configured).
"""

from __future__ import annotations

import hmac
import ipaddress
import itertools
import logging
import time

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics, generate_latest
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from rq import Queue
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from heldout.config import Settings
from heldout.models import Submission, SubmissionStatus
from heldout.runner.failures import FAILURE_REASONS, failure_reason_sql

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Upper bounds (seconds) of the run-time and latency histograms' buckets; +Inf is added.
SCORING_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
# Finished runs the histograms count: an ``error`` row is retried, and is counted when it finishes.
HISTOGRAM_STATUSES = (SubmissionStatus.SCORED, SubmissionStatus.FAILED)
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")

# No ``*_created`` series: a histogram's start time says nothing a scraper needs, and doubles the output.
disable_created_metrics()

# Not in any global registry: each scrape builds its own (see ``render``), so apps made by tests never collide.
HTTP_REQUEST_SECONDS = Histogram(
    "heldout_http_request_duration_seconds",
    "Time from a request's arrival to its response headers, by Flask endpoint and status code.",
    ["endpoint", "status"], registry=None,
)


# --- HTTP latency ----------------------------------------------------------------------------------------------

def init_app(app: Flask) -> None:
    """Time every request. Register before other before-request hooks (CSRF, rate limits) so a refused
    request is timed too."""
    app.before_request(_start_timer)
    app.after_request(_observe)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        HTTP_REQUEST_SECONDS.labels(endpoint=request.endpoint or "unmatched",
                                    status=str(response.status_code)).observe(time.perf_counter() - started)
    return response


# --- who may scrape ---------------------------------------------------------------------------------------------

def scrape_refusal(settings: Settings) -> int | None:
    """None when this request may read the metrics, else the status to refuse it with.

    With ``HELDOUT_METRICS_TOKEN`` set, the request must send it as ``Authorization: Bearer <token>`` (403
    otherwise). Without one, only a direct request from a loopback address is served, and anything else gets
    404: a request relayed by a reverse proxy on the same host carries forwarding headers and is refused.
    With ``HELDOUT_TRUSTED_PROXIES`` set, the proxies' X-Forwarded-For says who the client is: a client on
    this host may scrape through them, an outside one never, however it forges the header.
    """
    if settings.metrics_token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), settings.metrics_token.encode()):
            return None
        return 403
    direct = not any(request.headers.get(h) for h in FORWARDING_HEADERS)
    if settings.trusted_proxies:
        # Behind HELDOUT_TRUSTED_PROXIES proxies, REMOTE_ADDR is the client their X-Forwarded-For named
        # (ProxyFix), provided each of them added its entry; a request with fewer came round them.
        through = _forwarded_hops() >= settings.trusted_proxies
        return None if _is_loopback(request.remote_addr) and (through or direct) else 404
    if _is_loopback(request.remote_addr) and direct:
        return None
    return 404


def _forwarded_hops() -> int:
    forwarded = request.headers.get("X-Forwarded-For", "")
    return len([part for part in forwarded.split(",") if part.strip()])


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


# --- the scrape -------------------------------------------------------------------------------------------------

def multiprocess_mode() -> bool:
    """Whether prometheus_client keeps samples in PROMETHEUS_MULTIPROC_DIR (decided when it was imported)."""
    return bool(getattr(prometheus_values.ValueClass, "_multiprocess", False))


def render(sessions: sessionmaker[Session], queue: Queue) -> bytes:
    """The whole exposition, in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(sessions, queue))
    if multiprocess_mode():
        MultiProcessCollector(registry)  # every gunicorn worker's HTTP samples, this one's included
    else:
        registry.register(HTTP_REQUEST_SECONDS)
    return generate_latest(registry)


class StateCollector(Collector):
    """Series read from Redis and the database at scrape time.

    A source that does not answer drops its series and sets ``heldout_metrics_source_up{source}`` to 0, so
    the scrape itself still succeeds.
    """

    def __init__(self, sessions: sessionmaker[Session], queue: Queue):
        self.sessions = sessions
        self.queue = queue

    def describe(self) -> list[Metric]:
        return []  # not known without querying; registering must not query

    def collect(self) -> list[Metric]:
        families: list[Metric] = []
        up = GaugeMetricFamily("heldout_metrics_source_up",
                               "Whether this scrape could read the source (1) or not (0).", labels=["source"])
        try:
            families.append(GaugeMetricFamily("heldout_queue_jobs", "Jobs waiting in the RQ scoring queue (Redis).",
                                              value=self.queue.count))
            up.add_metric(["redis"], 1)
        except Exception as exc:  # noqa: BLE001 - a scrape reports a missing source, never fails on it
            log.warning("metrics: cannot read the queue length from Redis: %s", exc)
            up.add_metric(["redis"], 0)
        try:
            with self.sessions() as session:
                families.extend(database_families(session))
            up.add_metric(["database"], 1)
        except Exception as exc:  # noqa: BLE001
            log.warning("metrics: cannot read the database: %s", exc)
            up.add_metric(["database"], 0)
        return [*families, up]


def database_families(session: Session) -> list[Metric]:
    return [*_status_gauges(session), *_histograms(session), _failures(session)]


def _status_gauges(session: Session) -> list[Metric]:
    counts = dict(session.execute(
        select(Submission.status, func.count())
        .where(Submission.status.in_((SubmissionStatus.QUEUED, SubmissionStatus.RUNNING)))
        .group_by(Submission.status)
    ).all())
    return [
        GaugeMetricFamily("heldout_submissions_queued", "Submissions waiting to be scored (status queued).",
                          value=counts.get(SubmissionStatus.QUEUED, 0)),
        GaugeMetricFamily("heldout_jobs_in_flight", "Submissions being scored right now (status running).",
                          value=counts.get(SubmissionStatus.RUNNING, 0)),
    ]


def _seconds_between(session: Session, start, end) -> ColumnElement[float]:  # noqa: ANN001
    if session.get_bind().dialect.name == "postgresql":
        return func.date_part("epoch", end - start)  # double precision; EXTRACT's numeric is several times slower
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _histograms(session: Session) -> list[Metric]:
    """Both histograms from one grouped query.

    Each finished row is put in the first bucket its value fits (-1 when it has no value); the query counts
    and sums the rows of each (status, run bucket, latency bucket), at most a few hundred groups, and the
    cumulative ``le`` counts are added up here. One CASE per value is much cheaper than a SUM per bound.
    """
    series = {
        "heldout_scoring_run_seconds": (
            "Time finished runs spent in the sandbox (run_s), by final status.", Submission.run_s),
        "heldout_scoring_latency_seconds": (
            "Time from entering the queue to the result (finished_at - queued_at; for a retried or rescored "
            "submission, from its last entry into the queue), by final status.",
            _seconds_between(session, Submission.queued_at, Submission.finished_at)),
    }
    values = select(Submission.status.label("status"),
                    *(value.label(f"value_{i}") for i, (_doc, value) in enumerate(series.values()))
                    ).where(Submission.status.in_(HISTOGRAM_STATUSES)).subquery()
    rows = select(values.c.status, *(values.c[f"value_{i}"] for i in range(len(series))),
                  *(_bucket_index(values.c[f"value_{i}"]).label(f"bucket_{i}") for i in range(len(series)))
                  ).subquery()
    keys = [rows.c.status, *(rows.c[f"bucket_{i}"] for i in range(len(series)))]
    sums = [func.sum(rows.c[f"value_{i}"]) for i in range(len(series))]
    groups = session.execute(select(*keys, func.count(), *sums).group_by(*keys)).all()

    families = []
    for index, (name, (doc, _value)) in enumerate(series.items()):
        per_bucket = {status: [0] * (len(SCORING_BUCKETS) + 1) for status in HISTOGRAM_STATUSES}
        totals = dict.fromkeys(HISTOGRAM_STATUSES, 0.0)
        for group in groups:
            status, buckets, count = group[0], group[1:1 + len(series)], group[1 + len(series)]
            if buckets[index] >= 0:
                per_bucket[status][buckets[index]] += count
                totals[status] += float(group[2 + len(series) + index] or 0)
        family = HistogramMetricFamily(name, doc, labels=["status"])
        for status in HISTOGRAM_STATUSES:
            cumulative = list(itertools.accumulate(per_bucket[status]))
            le = [*(floatToGoString(bound) for bound in SCORING_BUCKETS), "+Inf"]
            family.add_metric([status.value], list(zip(le, cumulative)), sum_value=totals[status])
        families.append(family)
    return families


def _bucket_index(value: ColumnElement[float]) -> ColumnElement[int]:
    """The index of the first bound ``value`` is under (len(SCORING_BUCKETS) for +Inf), or -1 for no value."""
    return case((value.is_(None), -1), *((value <= bound, i) for i, bound in enumerate(SCORING_BUCKETS)),
                else_=len(SCORING_BUCKETS))


def _failures(session: Session) -> Metric:
    reasons = select(failure_reason_sql().label("reason")).where(
        Submission.status.in_((SubmissionStatus.FAILED, SubmissionStatus.ERROR))).subquery()
    counts = dict(session.execute(select(reasons.c.reason, func.count()).group_by(reasons.c.reason)).all())
    family = GaugeMetricFamily(
        "heldout_sandbox_failures",
        "Submissions whose last run failed, by coarse reason: timeout, memory, resource_limit and "
        "participant_error are the participant's (status failed); sandbox_unavailable and platform_error "
        "are the platform's (status error, retried).",
        labels=["reason"])
    for reason in FAILURE_REASONS:
        family.add_metric([reason], counts.get(reason, 0))
    return family
