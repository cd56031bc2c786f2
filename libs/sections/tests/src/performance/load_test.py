"""SpaceTime VR load test (Locust).

Target (release gate for 2.5.0):
    1000 concurrent users, p95 latency < 100 ms, failure ratio <= 1 %

Run (see README.md):
    locust -f load_test.py --host=https://staging.spacetime-vr.com
    locust -f load_test.py --host=https://staging.spacetime-vr.com \
        --headless --users 1000 --spawn-rate 50 --run-time 10m

Each simulated user is a VR client: it logs in with one of the provisioned
load-test accounts, polls the server status, browses and joins sessions, hosts
a session now and then, and reads its own profile. When the test stops the
aggregated p95 latency and failure ratio are compared with the targets; a
miss sets a non-zero exit code (for CI).

Environment:
    SPACETIME_LOADTEST_USERS      comma-separated username:password pairs, or
    SPACETIME_LOADTEST_USER_FILE  file with one username:password per line
                                  (without either, only anonymous endpoints are exercised)
    SPACETIME_P95_TARGET_MS       override the p95 target (default 100)
    SPACETIME_MAX_FAILURE_RATIO   override the failure ratio limit (default 0.01)

Login is rate-limited per client address: spread load generators over several
addresses or ask operators for an allow-listed load-test source before a run.
"""

import itertools
import logging
import os
import random
import threading
import uuid
from typing import List, Optional, Tuple

from locust import HttpUser, between, events, task
from locust.runners import WorkerRunner

# --- Targets -----------------------------------------------------------------
TARGET_CONCURRENT_USERS = 1000
P95_TARGET_MS = float(os.environ.get("SPACETIME_P95_TARGET_MS", "100"))
MAX_FAILURE_RATIO = float(os.environ.get("SPACETIME_MAX_FAILURE_RATIO", "0.01"))

MAPS = ("orbital_station", "nebula_outpost", "deep_space_relay", "asteroid_belt")
LOGGER = logging.getLogger("spacetime.loadtest")


def _load_accounts() -> List[Tuple[str, str]]:
    entries = []  # type: List[str]
    path = os.environ.get("SPACETIME_LOADTEST_USER_FILE", "").strip()
    if path:
        with open(path, encoding="utf-8") as handle:
            entries.extend(line.strip() for line in handle)
    entries.extend(os.environ.get("SPACETIME_LOADTEST_USERS", "").split(","))
    accounts = []
    for entry in entries:
        if not entry or entry.startswith("#") or ":" not in entry:
            continue
        username, password = entry.split(":", 1)
        accounts.append((username.strip(), password))
    return accounts


ACCOUNTS = _load_accounts()
_ACCOUNT_CYCLE = itertools.cycle(ACCOUNTS) if ACCOUNTS else None
_ACCOUNT_LOCK = threading.Lock()


def _next_account() -> Optional[Tuple[str, str]]:
    if _ACCOUNT_CYCLE is None:
        return None
    with _ACCOUNT_LOCK:
        return next(_ACCOUNT_CYCLE)


class VRPlayer(HttpUser):
    """A VR client talking to the HTTP API between game frames."""

    # Clients poll between 1 and 3 seconds apart while in menus/lobbies.
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.token = ""  # type: str
        self.player_id = ""  # type: str
        self.hosted_sessions = []  # type: List[str]
        self.client.headers.update({"Accept": "application/json", "User-Agent": "spacetime-loadtest/2.5"})
        account = _next_account()
        if account is None:
            return
        username, password = account
        with self.client.post("/api/v1/auth/login", json={"username": username, "password": password},
                              name="/api/v1/auth/login", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure("login failed for {}: HTTP {}".format(username, resp.status_code))
                return
            body = resp.json()
            self.token = body.get("access_token", "")
            self.player_id = body.get("player_id", "")
        if self.token:
            self.client.headers["Authorization"] = "Bearer " + self.token

    def on_stop(self) -> None:
        for session_id in self.hosted_sessions:
            self.client.delete("/api/v1/sessions/" + session_id, name="/api/v1/sessions/{id} [close]")
        self.hosted_sessions = []

    # --- anonymous ---------------------------------------------------------

    @task(10)
    def server_status(self) -> None:
        with self.client.get("/api/v1/status", name="/api/v1/status", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure("HTTP {}".format(resp.status_code))
            elif resp.json().get("draining"):
                resp.failure("server is draining")

    @task(2)
    def health(self) -> None:
        self.client.get("/healthz", name="/healthz")

    # --- authenticated -----------------------------------------------------

    @task(8)
    def browse_sessions(self) -> None:
        if not self.token:
            return
        params = {"state": "open", "limit": "50"}
        if random.random() < 0.5:
            params["map"] = random.choice(MAPS)
        self.client.get("/api/v1/sessions", params=params, name="/api/v1/sessions [list]")

    @task(4)
    def join_session(self) -> None:
        if not self.token:
            return
        resp = self.client.get("/api/v1/sessions", params={"state": "open", "limit": "20"},
                               name="/api/v1/sessions [list]")
        if resp.status_code != 200:
            return
        items = resp.json().get("items", [])
        if not items:
            return
        session_id = random.choice(items)["id"]
        spawn = {"x": random.uniform(-500, 500), "y": 0.0, "z": random.uniform(-500, 500)}
        with self.client.post("/api/v1/sessions/{}/join".format(session_id), json={"spawn_position": spawn},
                              name="/api/v1/sessions/{id}/join", catch_response=True) as join:
            # Full, closing or vanished sessions are normal under load, not errors.
            if join.status_code in (200, 404, 409):
                join.success()
            else:
                join.failure("HTTP {}".format(join.status_code))

    @task(3)
    def player_profile(self) -> None:
        if not self.player_id:
            return
        self.client.get("/api/v1/players/" + self.player_id, name="/api/v1/players/{id}")

    @task(2)
    def shard_overview(self) -> None:
        if not self.token:
            return
        self.client.get("/api/v1/shards", name="/api/v1/shards")

    @task(1)
    def host_session(self) -> None:
        if not self.token:
            return
        if len(self.hosted_sessions) >= 2:
            session_id = self.hosted_sessions.pop(0)
            self.client.delete("/api/v1/sessions/" + session_id, name="/api/v1/sessions/{id} [close]")
        body = {
            "name": "Load {}".format(uuid.uuid4().hex[:8]),
            "map": random.choice(MAPS),
            "max_players": random.choice((4, 8, 16)),
            "private": False,
        }
        with self.client.post("/api/v1/sessions", json=body, name="/api/v1/sessions [create]",
                              catch_response=True) as resp:
            if resp.status_code == 201:
                self.hosted_sessions.append(resp.json()["id"])
            elif resp.status_code == 503:
                # Draining or full servers refuse new sessions by design.
                resp.success()
            else:
                resp.failure("HTTP {}".format(resp.status_code))


@events.test_start.add_listener
def on_test_start(environment, **_kwargs) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    if not ACCOUNTS:
        LOGGER.warning("no load-test accounts configured (SPACETIME_LOADTEST_USERS / SPACETIME_LOADTEST_USER_FILE): "
                       "only anonymous endpoints will be exercised")
    LOGGER.info("targets: %d concurrent users, p95 < %.0f ms, failure ratio <= %.2f%%",
                TARGET_CONCURRENT_USERS, P95_TARGET_MS, MAX_FAILURE_RATIO * 100)


@events.test_stop.add_listener
def check_targets(environment, **_kwargs) -> None:
    """Release gate: fail the run (exit code 1) when a target is missed."""
    if isinstance(environment.runner, WorkerRunner):
        return  # the master holds the aggregated statistics
    total = environment.stats.total
    if total.num_requests == 0:
        LOGGER.error("FAIL: no requests were made")
        environment.process_exit_code = 1
        return

    p95_ms = total.get_response_time_percentile(0.95) or 0.0
    failure_ratio = total.fail_ratio
    problems = []
    if p95_ms >= P95_TARGET_MS:
        problems.append("p95 latency {:.0f} ms >= {:.0f} ms".format(p95_ms, P95_TARGET_MS))
    if failure_ratio > MAX_FAILURE_RATIO:
        problems.append("failure ratio {:.2%} > {:.2%}".format(failure_ratio, MAX_FAILURE_RATIO))

    LOGGER.info("result: %d requests, p95 %.0f ms, failure ratio %.2f%% (target: %d concurrent users)",
                total.num_requests, p95_ms, failure_ratio * 100, TARGET_CONCURRENT_USERS)
    if problems:
        LOGGER.error("FAIL: %s", "; ".join(problems))
        environment.process_exit_code = 1
    else:
        LOGGER.info("PASS: p95 < %.0f ms and failure ratio <= %.2f%%", P95_TARGET_MS, MAX_FAILURE_RATIO * 100)
        environment.process_exit_code = 0
