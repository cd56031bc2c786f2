#!/usr/bin/env python3
"""SpaceTime VR performance validation: frame and tick metrics from Prometheus.

Asks Prometheus what the game servers of one namespace reported over a window
(the last 10 minutes by default, e.g. a load test or a staging soak) and fails
when the VR budget is broken:

    frame-time-p99   p99 of the headsets' frame times (spacetime_vr_frame_time_seconds)
                     <= the frame budget: 11.1 ms at 90 Hz (--refresh-rate)
    tick-time-p99    per pod, p99 of the server tick time (spacetime_server_tick_duration_seconds)
                     <= the tick budget: 11.1 ms at 90 Hz (--tick-rate)
    tick-rate        per pod, ticks per second averaged over the window (spacetime_server_fps)
                     >= the tick-rate target less --tick-rate-tolerance (5 %: 85.5 Hz at 90 Hz)

A window without enough frames (--min-frame-samples) or without any pod's tick
metrics fails too: no data is no evidence. The p99 of each headset model is
printed beside the frame check.

Standard library only (Python 3.8+).

Usage:
    python3 vr_performance_validation.py --prometheus-url http://prometheus:9090 \\
        --namespace spacetime-vr-staging --window 10m

Exit status: 0 every check passed, 1 a check failed or Prometheus could not
answer, 2 usage error.
"""

import argparse
import json
import math
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

USER_AGENT = "spacetime-vr-performance-validation/2.5"
DEFAULT_NAMESPACE = "spacetime-vr"
DEFAULT_JOB = "spacetime-vr"
LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.:-]{1,253}$")
DURATION = re.compile(r"^(\d+(ms|[smhdwy]))+$")

# The queries, as data: {selector} is the job and namespace, {window} the range.
FRAME_P99 = "histogram_quantile(0.99, sum by (le) (rate(spacetime_vr_frame_time_seconds_bucket{selector}[{window}])))"
FRAME_P99_BY_HEADSET = ("histogram_quantile(0.99, sum by (headset, le) "
                        "(rate(spacetime_vr_frame_time_seconds_bucket{selector}[{window}])))")
FRAME_SAMPLES = "sum(increase(spacetime_vr_frame_time_seconds_count{selector}[{window}]))"
TICK_P99_BY_POD = ("histogram_quantile(0.99, sum by (pod, le) "
                   "(rate(spacetime_server_tick_duration_seconds_bucket{selector}[{window}])))")
TICK_RATE_BY_POD = "avg by (pod) (avg_over_time(spacetime_server_fps{selector}[{window}]))"


class PrometheusError(Exception):
    """Prometheus did not answer a query with data."""


class Result(NamedTuple):
    check: str
    passed: bool
    detail: str


class Prometheus:
    """Instant queries against the Prometheus HTTP API (GET /api/v1/query)."""

    def __init__(self, url: str, timeout: float, token: Optional[str], insecure: bool) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.token = token
        self.context = None  # type: Optional[ssl.SSLContext]
        if insecure and self.url.startswith("https://"):
            self.context = ssl.create_default_context()
            self.context.check_hostname = False
            self.context.verify_mode = ssl.CERT_NONE

    def vector(self, query: str, at: float) -> List[Tuple[Dict[str, str], float]]:
        """The samples of an instant vector: (labels, value), NaN for a value Prometheus gave as NaN."""
        params = urllib.parse.urlencode({"query": query, "time": "{:.3f}".format(at)})
        request = urllib.request.Request(self.url + "/api/v1/query?" + params,
                                         headers={"Accept": "application/json", "User-Agent": USER_AGENT})
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as resp:
                status, content_type, body = resp.status, resp.headers.get("Content-Type", ""), resp.read()
        except urllib.error.HTTPError as err:
            status, content_type, body = err.code, err.headers.get("Content-Type", ""), err.read()
        except (urllib.error.URLError, OSError) as err:
            raise PrometheusError("cannot reach Prometheus at {}: {}".format(self.url, getattr(err, "reason", err)))
        try:
            answer = json.loads(body.decode("utf-8"))
        except ValueError:
            raise PrometheusError("{} answered HTTP {} with {}, not the Prometheus API: is --prometheus-url right?"
                                  .format(self.url, status, content_type or "no content type"))
        if not isinstance(answer, dict) or answer.get("status") != "success":
            error = answer.get("error", "no error given") if isinstance(answer, dict) else "not a JSON object"
            kind = answer.get("errorType", "error") if isinstance(answer, dict) else "error"
            raise PrometheusError("Prometheus refused the query (HTTP {}, {}): {}\n      query: {}".format(
                status, kind, error, query))
        try:
            data = answer["data"]
            if data["resultType"] != "vector":
                raise PrometheusError("Prometheus answered a {} to an instant query: {}".format(
                    data["resultType"], query))
            return [(dict(sample["metric"]), float(sample["value"][1])) for sample in data["result"]]
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise PrometheusError("the answer is not an instant vector ({}: {}): {}".format(
                type(err).__name__, err, query))


def budget_ms(hz: float) -> float:
    """The time one frame or tick may take at a rate, to 0.1 ms: 11.1 ms at 90 Hz."""
    return round(1000.0 / hz, 1)


def milliseconds(seconds: float) -> str:
    if math.isinf(seconds):
        return "above the largest histogram bucket"
    return "{:.1f} ms".format(seconds * 1000.0)


def promql(template: str, args: argparse.Namespace) -> str:
    return template.format(selector=args.selector, window=args.window)


def check_frames(prometheus: Prometheus, args: argparse.Namespace, at: float, scope: str) -> List[Result]:
    samples = sum(value for _, value in prometheus.vector(promql(FRAME_SAMPLES, args), at) if not math.isnan(value))
    if samples < 1:
        return [Result("frame-time-p99", False, "no frame times reported {}: no headset was connected, or "
                       "Prometheus does not scrape this namespace".format(scope))]
    if samples < args.min_frame_samples:
        return [Result("frame-time-p99", False, "only {:.0f} frames {} (at least {} are needed to judge)".format(
            samples, scope, args.min_frame_samples))]
    p99 = [value for _, value in prometheus.vector(promql(FRAME_P99, args), at) if not math.isnan(value)]
    if not p99:
        return [Result("frame-time-p99", False, "no frame-time quantile {}".format(scope))]
    limit = budget_ms(args.refresh_rate)
    passed = p99[0] * 1000.0 <= limit
    headsets = sorted((labels.get("headset", "unknown"), value) for labels, value in
                      prometheus.vector(promql(FRAME_P99_BY_HEADSET, args), at) if not math.isnan(value))
    detail = "{} {} {:.1f} ms ({:g} Hz budget) over {:.0f} frames".format(
        milliseconds(p99[0]), "<=" if passed else ">", limit, args.refresh_rate, samples)
    detail += "".join("\n      headset {}: p99 {}".format(name, milliseconds(value)) for name, value in headsets)
    return [Result("frame-time-p99", passed, detail)]


def check_ticks(prometheus: Prometheus, args: argparse.Namespace, at: float, scope: str) -> List[Result]:
    tick_p99 = sorted((labels.get("pod", "?"), value) for labels, value in
                      prometheus.vector(promql(TICK_P99_BY_POD, args), at))
    tick_rate = sorted((labels.get("pod", "?"), value) for labels, value in
                       prometheus.vector(promql(TICK_RATE_BY_POD, args), at))
    if not tick_p99 and not tick_rate:
        return [Result("tick-time-p99", False, "no game server reported tick metrics {}".format(scope)),
                Result("tick-rate", False, "no game server reported its tick rate {}".format(scope))]
    results = []
    tick_limit = budget_ms(args.tick_rate)
    for pod, value in tick_p99:
        if math.isnan(value):
            results.append(Result("tick-time-p99", False, "pod {}: no ticks {}".format(pod, scope)))
            continue
        passed = value * 1000.0 <= tick_limit
        results.append(Result("tick-time-p99", passed, "pod {}: {} {} {:.1f} ms ({:g} Hz tick budget)".format(
            pod, milliseconds(value), "<=" if passed else ">", tick_limit, args.tick_rate)))
    floor = args.tick_rate * (1.0 - args.tick_rate_tolerance / 100.0)
    for pod, value in tick_rate:
        passed = not math.isnan(value) and value >= floor
        detail = "pod {}: {:.1f} Hz {} {:.1f} Hz (target {:g} Hz, {:g} % tolerance)".format(
            pod, value, ">=" if passed else "<", floor, args.tick_rate, args.tick_rate_tolerance)
        results.append(Result("tick-rate", passed, detail))
    for check, found in (("tick-time-p99", tick_p99), ("tick-rate", tick_rate)):
        if not found:
            results.append(Result(check, False, "no pod reported it {}".format(scope)))
    return results


def parse_time(value: str) -> float:
    """A Unix time or an RFC 3339 time (2025-12-02T10:30:00Z)."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError("not a Unix time or an RFC 3339 time: {!r}".format(value))
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone (e.g. Z): {!r}".format(value))
    return parsed.timestamp()


def positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def convert(value: str) -> float:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError("not a number: {!r}".format(value))
        if not number > 0:
            raise argparse.ArgumentTypeError("must be positive: {!r}".format(value))
        return number
    return convert


def matching(pattern: "re.Pattern[str]", what: str) -> Callable[[str], str]:
    def convert(value: str) -> str:
        if not pattern.match(value):
            raise argparse.ArgumentTypeError("not {}: {!r}".format(what, value))
        return value
    return convert


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Validate VR frame times and server ticks of a SpaceTime VR deployment from Prometheus.",
        epilog="Exit status: 0 every check passed, 1 a check failed or Prometheus could not answer, 2 usage error.")
    parser.add_argument("--prometheus-url", default=os.environ.get("PROMETHEUS_URL", ""),
                        help="Prometheus base URL (default: $PROMETHEUS_URL)")
    parser.add_argument("--namespace", default=os.environ.get("SPACETIME_NAMESPACE", DEFAULT_NAMESPACE),
                        type=matching(LABEL_VALUE, "a namespace"),
                        help="Kubernetes namespace of the game servers (default: $SPACETIME_NAMESPACE or spacetime-vr)")
    parser.add_argument("--job", default=DEFAULT_JOB, type=matching(LABEL_VALUE, "a job name"),
                        help="Prometheus job of the game servers (default: spacetime-vr)")
    parser.add_argument("--window", default="10m", type=matching(DURATION, "a Prometheus duration (e.g. 10m, 1h30m)"),
                        help="how far back to look (default: 10m)")
    parser.add_argument("--end", type=parse_time, help="end of the window, Unix or RFC 3339 time (default: now)")
    parser.add_argument("--refresh-rate", type=positive(float), default=90.0,
                        help="headset refresh rate in Hz; the frame budget is its period (default: 90, 11.1 ms)")
    parser.add_argument("--tick-rate", type=positive(float), default=90.0,
                        help="server tick-rate target in Hz (TICK_RATE; default: 90, an 11.1 ms tick budget)")
    parser.add_argument("--tick-rate-tolerance", type=positive(float), default=5.0,
                        help="percent below the tick-rate target still accepted (default: 5)")
    parser.add_argument("--min-frame-samples", type=positive(int), default=1000,
                        help="fewest frame-time samples in the window to judge (default: 1000)")
    parser.add_argument("--timeout", type=positive(float), default=10.0, help="seconds per query (default: 10)")
    parser.add_argument("--bearer-token-file", help="file holding a token for Prometheus (Authorization: Bearer)")
    parser.add_argument("-k", "--insecure", action="store_true",
                        help="accept a self-signed TLS certificate (staging/development only)")
    args = parser.parse_args(argv)
    if not args.prometheus_url:
        parser.error("no --prometheus-url given and PROMETHEUS_URL is not set")
    parsed = urllib.parse.urlsplit(args.prometheus_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        parser.error("--prometheus-url must be an http:// or https:// URL, got {!r}".format(args.prometheus_url))
    if parsed.username or parsed.password:
        parser.error("--prometheus-url must not hold credentials: use --bearer-token-file")
    if args.tick_rate_tolerance >= 100:
        parser.error("--tick-rate-tolerance must be below 100")
    args.token = None
    if args.bearer_token_file:
        try:
            with open(args.bearer_token_file, encoding="utf-8") as handle:
                args.token = handle.read().strip()
        except OSError as err:
            parser.error("cannot read --bearer-token-file: {}".format(err.strerror))
    args.selector = '{{job="{}",namespace="{}"}}'.format(args.job, args.namespace)
    return args


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    at = args.end if args.end is not None else time.time()
    end = datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    scope = "in namespace {} over the {} before {}".format(args.namespace, args.window, end)
    print("SpaceTime VR performance validation")
    print("  prometheus: {}".format(args.prometheus_url))
    print("  servers:    job {}, namespace {}".format(args.job, args.namespace))
    print("  window:     {} ending {}\n".format(args.window, end))
    prometheus = Prometheus(args.prometheus_url, args.timeout, args.token, args.insecure)
    try:
        results = check_frames(prometheus, args, at, scope) + check_ticks(prometheus, args, at, scope)
    except PrometheusError as err:
        print("FAIL  prometheus       {}".format(err))
        print("\nVR PERFORMANCE VALIDATION FAILED: Prometheus did not answer")
        return 1
    for result in results:
        print("{}  {:<16} {}".format("PASS" if result.passed else "FAIL", result.check, result.detail))
    failed = sorted({result.check for result in results if not result.passed})
    print("\nSummary: {} passed, {} failed".format(sum(r.passed for r in results), sum(not r.passed for r in results)))
    if failed:
        print("VR PERFORMANCE VALIDATION FAILED: {}".format(" ".join(failed)))
        return 1
    print("VR PERFORMANCE VALIDATION PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
