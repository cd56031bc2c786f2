#!/usr/bin/env python3
"""SpaceTime VR HTTP API property-based tests (Hypothesis).

Where the integration tests walk one example of each workflow, these generate
hundreds: random session names, capacities, spawn positions, page sizes,
offsets, content types, credentials and paths, and random sequences of
create / read / join / list / close steps. After every step the answers must
keep the invariants of the API:

* a session round-trips: create -> read (the same fields) -> close -> gone;
* retries are harmless: a second close of a closed session is 404, a retried
  join gets a fresh token for the same endpoint and shard;
* counters are never negative: player counts (and never above capacity),
  play time (which never decreases), status counters, shard occupancy;
* pages add up: the page size is clamped to 1..200, the offset to >= 0, and
  the items are exactly the slice of the total the parameters ask for;
* the input rules are the documented ones: valid names, maps and capacities
  are accepted, everything else is a 400, a non-JSON body a 415, missing or
  wrong credentials a 401, an unknown route a 404, a wrong method a 405;
* every error is a JSON object with error, message and request_id, and the
  request_id is the X-Request-ID header of the response.

Hypothesis and Python 3.8 or newer (``pip install hypothesis``). Configuration
comes from the environment, as for ../integration/test_runner.py:

    SPACETIME_BASE_URL          base URL (unset: every test is skipped, exit 0)
    SPACETIME_TEST_USERNAME     test player for the session properties
    SPACETIME_TEST_PASSWORD     (unset: only the properties without a player run)
    SPACETIME_TEST_TIMEOUT      seconds per HTTP request (default 10)
    SPACETIME_SYNC_TIMEOUT      seconds for a change to reach every pod (default 15)
    SPACETIME_TEST_INSECURE     "1" to accept self-signed TLS certificates
    SPACETIME_PBT_EXAMPLES      examples per property, and sequences of
                                session steps (default 25)
    SPACETIME_PBT_DERANDOMIZE   "1": the same examples on every run
    SPACETIME_MAX_PLAYERS_PER_SESSION
                                the server's MAX_PLAYERS_PER_SESSION (default 32)

Usage:
    python3 api_property_test.py [--base-url URL] [unittest options, e.g. -k Session]

Run it against staging or a single pod, never production: it creates and
closes sessions (named "PBT ...", on a map of its own) as the test player.
"""

import json
import os
import re
import string
import sys
import time
import unittest
import uuid
from typing import Any, Dict, List, Optional, Set, Tuple

from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, multiple, precondition, rule

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
# The suites share one client and one way to run.
from test_runner import SKIP_REASON, ApiClient, Config, Response, SpaceTimeTestCase, run_suite, wait_for  # noqa: E402

MAX_SESSIONS_PER_HOST = 3
PAGE_LIMIT_MAX = 200
PAGE_LIMIT_DEFAULT = 50
SESSION_STATES = ("open", "draining", "closing")
RUN_MAP = "pbt_" + uuid.uuid4().hex[:12]
# Fields every answer of the API carries (docs/api/API_REFERENCE.md).
REQUIRED_FIELDS = {
    "Error": ("error", "message", "request_id"),
    "ServerStatus": ("version", "environment", "pod", "uptime_seconds", "players_connected", "sessions_active",
                     "shards_hosted", "tick_rate_hz", "draining"),
    "Player": ("id", "display_name", "created_at", "total_play_seconds"),
    "Session": ("id", "name", "map", "host_player_id", "max_players", "player_count", "state", "private",
                "shard_id", "pod", "created_at", "endpoint"),
    "SessionList": ("items", "total", "limit", "offset"),
    "JoinSessionResponse": ("session_id", "player_id", "join_token", "expires_in", "endpoint", "shard_id"),
    "Shard": ("id", "region", "players", "capacity", "state", "pod"),
    "ShardList": ("items", "total", "pod"),
    "Endpoint": ("host", "port", "protocol"),
}
# Operations and their methods: any other method on these paths is a 405.
METHODS = {
    "/healthz": ("GET",),
    "/readyz": ("GET",),
    "/api/v1/status": ("GET",),
    "/api/v1/auth/login": ("POST",),
    "/api/v1/sessions": ("GET", "POST"),
    "/api/v1/shards": ("GET",),
    "/api/v1/admin/drain": ("POST",),
}
WRONG_METHODS = tuple((path, method) for path in sorted(METHODS) for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
                      if method not in METHODS[path])
# Operations that need a player's token (or, for some, the operator key).
PROTECTED = (
    ("GET", "/api/v1/sessions"),
    ("POST", "/api/v1/sessions"),
    ("GET", "/api/v1/shards"),
    ("GET", "/api/v1/players/" + str(uuid.UUID(int=1))),
    ("GET", "/api/v1/sessions/ses_propertytest01"),
    ("DELETE", "/api/v1/sessions/ses_propertytest01"),
    ("POST", "/api/v1/sessions/ses_propertytest01/join"),
)
WITH_BODY = ("POST", "PUT", "PATCH")
UNCHANGING_SESSION_FIELDS = ("id", "name", "map", "host_player_id", "max_players", "private", "created_at", "endpoint")


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SystemExit("{} must be a positive integer, got {!r}".format(name, value))
    return int(value)


EXAMPLES = _positive_int("SPACETIME_PBT_EXAMPLES", 25)
DERANDOMIZE = os.environ.get("SPACETIME_PBT_DERANDOMIZE", "").strip() in ("1", "true", "yes")
MAX_PLAYERS_PER_SESSION = _positive_int("SPACETIME_MAX_PLAYERS_PER_SESSION", 32)
# Login goes through the ingress's strict per-address budget (10 a minute): few examples there.
LOGIN_EXAMPLES = 4
RATE_LIMIT_RETRIES = 3


def property_settings(examples: int = EXAMPLES, **extra: Any) -> settings:
    """Settings for a live server: no deadline (the network decides), no example database, and no
    shrinking: the server's state outlives each example, and shrinking would replay hundreds of
    requests against it. A failure is reported with the steps that found it."""
    return settings(max_examples=examples, deadline=None, database=None, phases=(Phase.explicit, Phase.generate),
                    derandomize=DERANDOMIZE, suppress_health_check=[HealthCheck.too_slow], **extra)


# --------------------------------------------------------------------------
# Strategies: the API's input rules, as generators
# --------------------------------------------------------------------------

# Session names: letters, digits, spaces and . _ - ' ( ), 1-64 after trimming. Letters and digits
# beyond ASCII come from a fixed list, so that no Unicode version difference decides a result.
NAME_CHARS = string.ascii_letters + string.digits + " _'().-" + "éüßøñçÅŁΩЖжあ日本٣"
NAME_INVALID_CHARS = "<>/\"\\@#$%&*+=;:!?,[]{}|~^`"
MAP_PATTERN = re.compile(r"^[a-z0-9_]{1,32}$")

valid_names = st.text(alphabet=NAME_CHARS, max_size=60)
invalid_names = st.one_of(
    st.just(""),
    st.text(alphabet=" ", min_size=1, max_size=5),
    st.tuples(st.text(alphabet=NAME_CHARS, max_size=30), st.sampled_from(NAME_INVALID_CHARS),
              st.text(alphabet=NAME_CHARS, max_size=30)).map("".join),
    st.text(alphabet=string.ascii_letters, min_size=65, max_size=100),
)
valid_maps = st.one_of(st.just(RUN_MAP), st.from_regex(MAP_PATTERN, fullmatch=True))
invalid_maps = st.one_of(
    st.just(""),
    st.text(alphabet=string.ascii_lowercase, min_size=33, max_size=40),
    st.text(alphabet=string.ascii_letters + string.digits + "_-. ", min_size=1, max_size=32).filter(
        lambda s: not MAP_PATTERN.match(s)),
)
valid_capacities = st.integers(min_value=2, max_value=MAX_PLAYERS_PER_SESSION)
invalid_capacities = st.one_of(st.integers(max_value=1),
                               st.integers(min_value=MAX_PLAYERS_PER_SESSION + 1, max_value=2 ** 31))


@st.composite
def valid_session_bodies(draw: Any) -> Dict[str, Any]:
    # Spaces around the name are trimmed by the server.
    body = {"name": draw(st.text(" ", max_size=2)) + "PBT " + draw(valid_names), "map": draw(valid_maps)}
    if draw(st.booleans()):
        body["max_players"] = draw(valid_capacities)
    if draw(st.booleans()):
        body["private"] = draw(st.booleans())
    return body


@st.composite
def invalid_session_bodies(draw: Any) -> Dict[str, Any]:
    body = {"name": "PBT valid", "map": RUN_MAP, "max_players": 2}
    broken = draw(st.sampled_from(("name", "map", "max_players")))
    body[broken] = draw({"name": invalid_names, "map": invalid_maps, "max_players": invalid_capacities}[broken])
    return body


finite = st.floats(min_value=-1e5, max_value=1e5, allow_nan=False, allow_infinity=False, width=32)
spawn_positions = st.fixed_dictionaries({"x": finite, "y": finite, "z": finite})
page_numbers = st.one_of(st.none(), st.integers(min_value=-1000, max_value=100000))
header_tokens = st.text(alphabet=string.ascii_letters + string.digits + "-._~+/=", min_size=1, max_size=200)
unknown_session_ids = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=12, max_size=40).map(
    lambda s: "ses_zz" + s)
not_json_types = st.sampled_from(("text/plain", "application/x-www-form-urlencoded", "application/xml",
                                  "multipart/form-data; boundary=pbt", "text/json", "application/octet-stream"))
json_but_not_object = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4), max_leaves=6).map(json.dumps)


# --------------------------------------------------------------------------
# Client and checks
# --------------------------------------------------------------------------

def call(client: ApiClient, method: str, path: str, **kwargs: Any) -> Response:
    """One request; a 429 (the ingress's or the server's rate limit) is retried after Retry-After."""
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        resp = client.request(method, path, **kwargs)
        if resp.status != 429 or attempt == RATE_LIMIT_RETRIES:
            return resp
        delay = resp.header("Retry-After")
        time.sleep(min(float(delay), 60.0) if delay.isdigit() else 1.0 + attempt)
    return resp


def describe(method: str, path: str, resp: Response) -> str:
    return "{} {} -> {}".format(method, path, resp.describe())


def assert_fields(case: unittest.TestCase, schema: str, value: Any, context: str) -> None:
    case.assertIsInstance(value, dict, "{}: not a JSON object".format(context))
    missing = [field for field in REQUIRED_FIELDS[schema] if field not in value]
    case.assertEqual(missing, [], "{}: {} without {}".format(context, schema, ", ".join(missing)))


def assert_counter(case: unittest.TestCase, value: Any, what: str) -> int:
    case.assertIsInstance(value, int, "{} is not an integer: {!r}".format(what, value))
    case.assertGreaterEqual(value, 0, "{} is negative".format(what))
    return value


def assert_error(case: unittest.TestCase, resp: Response, status: int, code: Optional[str], context: str) -> None:
    """An error answer: the status, a JSON Error body, and its request_id in the X-Request-ID header."""
    case.assertEqual(resp.status, status, context)
    body = resp.json()
    assert_fields(case, "Error", body, context)
    if code is not None:
        case.assertEqual(body["error"], code, context)
    case.assertTrue(resp.header("X-Request-ID"), "{}: no X-Request-ID header".format(context))
    case.assertEqual(body["request_id"], resp.header("X-Request-ID"),
                     "{}: the error's request_id is not the X-Request-ID header".format(context))


def assert_session(case: unittest.TestCase, session: Any, context: str) -> None:
    assert_fields(case, "Session", session, context)
    assert_fields(case, "Endpoint", session["endpoint"], context + " endpoint")
    count = assert_counter(case, session["player_count"], context + " player_count")
    case.assertLessEqual(count, session["max_players"], "{}: more players than max_players".format(context))
    case.assertIn(session["state"], SESSION_STATES, context)


def assert_page(case: unittest.TestCase, page: Any, limit: Optional[int], offset: Optional[int],
                filters: Dict[str, str], context: str) -> None:
    """A page of sessions is exactly the slice its (clamped) parameters ask for."""
    assert_fields(case, "SessionList", page, context)
    expected_limit = PAGE_LIMIT_DEFAULT if limit is None else min(max(limit, 1), PAGE_LIMIT_MAX)
    expected_offset = 0 if offset is None else max(offset, 0)
    case.assertEqual(page["limit"], expected_limit, context + ": limit not clamped to 1..200")
    case.assertEqual(page["offset"], expected_offset, context + ": offset not clamped to >= 0")
    total = assert_counter(case, page["total"], context + " total")
    case.assertEqual(len(page["items"]), max(0, min(expected_limit, total - expected_offset)),
                     context + ": the page is not the slice [offset, offset + limit) of total")
    created = [item.get("created_at", "") for item in page["items"]]
    case.assertEqual(created, sorted(created), context + ": not oldest first")
    for item in page["items"]:
        assert_session(case, item, context + " item " + str(item.get("id")))
        case.assertFalse(item["private"], context + ": a private session is listed")
        for field, value in filters.items():
            case.assertEqual(item[field], value, "{}: item outside the {}={} filter".format(context, field, value))


# --------------------------------------------------------------------------
# Properties without a player: routing, content types, credentials, errors
# --------------------------------------------------------------------------

class Test01Protocol(SpaceTimeTestCase):
    @property_settings()
    @given(path=st.lists(st.from_regex(r"[a-z0-9_-]{1,16}", fullmatch=True), min_size=1, max_size=3).map(
        lambda parts: "/api/v1/x-" + "/".join(parts)))
    def test_unknown_route_is_json_404(self, path: str) -> None:
        resp = call(self.client, "GET", path)
        assert_error(self, resp, 404, "not_found", describe("GET", path, resp))

    @property_settings()
    @given(operation=st.sampled_from(WRONG_METHODS))
    def test_wrong_method_is_json_405(self, operation: Tuple[str, str]) -> None:
        route, method = operation
        body = method in WITH_BODY
        resp = call(self.client, method, route, raw_body=b"{}" if body else None,
                    content_type="application/json" if body else None)
        assert_error(self, resp, 405, "method_not_allowed", describe(method, route, resp))

    @property_settings()
    @given(operation=st.sampled_from(PROTECTED), token=st.one_of(st.none(), header_tokens),
           api_key=st.one_of(st.none(), header_tokens), content_type=not_json_types)
    def test_missing_or_wrong_credentials_are_401(self, operation: Tuple[str, str], token: Optional[str],
                                                  api_key: Optional[str], content_type: str) -> None:
        method, path = operation
        # Credentials come before the body: a 401 even for a body the server would refuse.
        body = method in WITH_BODY
        resp = call(self.client, method, path, token=token, api_key=api_key,
                    raw_body=b"x" if body else None, content_type=content_type if body else None)
        assert_error(self, resp, 401, "unauthorized", describe(method, path, resp))
        self.assertIn("Bearer", resp.header("WWW-Authenticate"), describe(method, path, resp))

    @property_settings(LOGIN_EXAMPLES)
    @given(content_type=not_json_types, body=st.binary(min_size=1, max_size=64))
    def test_non_json_body_is_415(self, content_type: str, body: bytes) -> None:
        resp = call(self.client, "POST", "/api/v1/auth/login", raw_body=body, content_type=content_type)
        assert_error(self, resp, 415, "unsupported_media_type", describe("POST", "/api/v1/auth/login", resp))

    @property_settings(LOGIN_EXAMPLES)
    @given(body=json_but_not_object)
    def test_json_body_that_is_no_object_is_400(self, body: str) -> None:
        resp = call(self.client, "POST", "/api/v1/auth/login", raw_body=body.encode("utf-8"),
                    content_type="application/json")
        assert_error(self, resp, 400, "bad_request", describe("POST", "/api/v1/auth/login " + body, resp))

    def test_status_counters_are_never_negative(self) -> None:
        for _ in range(3):  # possibly three pods
            resp = call(self.client, "GET", "/api/v1/status")
            self.assertEqual(resp.status, 200, resp.describe())
            status = resp.json()
            assert_fields(self, "ServerStatus", status, "GET /api/v1/status")
            for field in ("uptime_seconds", "players_connected", "sessions_active", "shards_hosted"):
                assert_counter(self, status[field], "status " + field)
            self.assertTrue(10 <= status["tick_rate_hz"] <= 240, "tick_rate_hz {!r}".format(status["tick_rate_hz"]))
            self.assertIsInstance(status["draining"], bool)


# --------------------------------------------------------------------------
# Sessions as a state machine: random sequences of steps by the test player
# --------------------------------------------------------------------------

class SessionLifecycle(RuleBasedStateMachine):
    """The model: the sessions this run holds open. Every step checks the server against it."""

    client = None  # type: ApiClient
    token = ""
    player_id = ""
    case = unittest.TestCase()
    sessions = Bundle("sessions")
    # Every session the server said it created, until a close is answered: closed in teardown,
    # also when a step failed or the server accepted what it should have refused.
    created = set()  # type: Set[str]

    def __init__(self) -> None:
        super().__init__()
        self.open = {}  # type: Dict[str, Dict[str, Any]]
        self.play_seconds = 0

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        resp = call(self.client, method, path, token=self.token, **kwargs)
        note(describe(method, path, resp))
        return resp

    def teardown(self) -> None:
        for session_id in sorted(self.created):
            if self.request("DELETE", "/api/v1/sessions/" + session_id).status in (204, 404):
                self.created.discard(session_id)

    def _create(self, body: Dict[str, Any]) -> Response:
        """Creates a session while this run holds fewer than the host limit: the server checks the limit first."""
        resp = self.request("POST", "/api/v1/sessions", json_body=body)
        if resp.status == 201:
            self.created.add(resp.json().get("id", ""))
        if resp.status == 409 and len(self.open) < MAX_SESSIONS_PER_HOST:
            self.case.fail("the server refuses a session as the host's fourth while this run holds {} open: it still "
                           "counts sessions that were closed, or that another run left open ({})".format(
                               len(self.open), resp.describe()))
        return resp

    def _created(self, body: Dict[str, Any], resp: Response) -> str:
        session = resp.json()
        assert_session(self.case, session, "created session")
        self.case.assertEqual(resp.header("Location"), "/api/v1/sessions/" + session["id"])
        self.case.assertEqual(session["name"], body["name"].strip())
        self.case.assertEqual(session["map"], body["map"])
        self.case.assertEqual(session["private"], body.get("private", False))
        if "max_players" in body:
            self.case.assertEqual(session["max_players"], body["max_players"])
        self.case.assertEqual((session["host_player_id"], session["state"], session["player_count"]),
                              (self.player_id, "open", 0))
        self.case.assertNotIn(session["id"], self.open, "a new session reuses an open session's id")
        self.open[session["id"]] = session
        per_pod = sum(1 for other in self.open.values() if other["pod"] == session["pod"])
        too_many = "pod {} hosts more than {} sessions of one player".format(session["pod"], MAX_SESSIONS_PER_HOST)
        self.case.assertLessEqual(per_pod, MAX_SESSIONS_PER_HOST, too_many)
        return session["id"]

    @precondition(lambda self: len(self.open) < MAX_SESSIONS_PER_HOST)
    @rule(target=sessions, body=valid_session_bodies())
    def create_session(self, body: Dict[str, Any]) -> str:
        resp = self._create(body)
        self.case.assertEqual(resp.status, 201, resp.describe())
        return self._created(body, resp)

    @precondition(lambda self: len(self.open) >= MAX_SESSIONS_PER_HOST)
    @rule(target=sessions, body=valid_session_bodies())
    def create_beyond_the_host_limit(self, body: Dict[str, Any]) -> Any:
        # Refused by a pod that hosts three of them already; another pod may accept it.
        resp = self._create(body)
        if resp.status == 201:
            return self._created(body, resp)
        assert_error(self.case, resp, 409, "too_many_sessions", "create beyond the limit")
        return multiple()

    @precondition(lambda self: len(self.open) < MAX_SESSIONS_PER_HOST)
    @rule(body=invalid_session_bodies())
    def invalid_session_is_refused(self, body: Dict[str, Any]) -> None:
        assert_error(self.case, self._create(body), 400, "bad_request", "create {!r}".format(body))

    @rule(session_id=sessions)
    def read_session(self, session_id: str) -> None:
        resp = self.request("GET", "/api/v1/sessions/" + session_id)
        self.case.assertEqual(resp.status, 200, resp.describe())
        session = resp.json()
        assert_session(self.case, session, "read session")
        for field in UNCHANGING_SESSION_FIELDS:
            self.case.assertEqual(session[field], self.open[session_id][field],
                                  "{} changed between reads".format(field))

    @rule(session_id=sessions, spawn=spawn_positions)
    def join_twice(self, session_id: str, spawn: Dict[str, float]) -> None:
        path = "/api/v1/sessions/{}/join".format(session_id)
        answers = []
        for _ in range(2):  # a retried join is harmless: a fresh token, the same place
            resp = self.request("POST", path, json_body={"spawn_position": spawn})
            self.case.assertEqual(resp.status, 200, resp.describe())
            join = resp.json()
            assert_fields(self.case, "JoinSessionResponse", join, "join")
            self.case.assertEqual((join["session_id"], join["player_id"]), (session_id, self.player_id))
            self.case.assertEqual(join["endpoint"], self.open[session_id]["endpoint"])
            self.case.assertEqual(join["join_token"].count("."), 2, "the join token is not a JWT")
            self.case.assertGreater(join["expires_in"], 0)
            answers.append(join)
        self.case.assertEqual(answers[0]["shard_id"], answers[1]["shard_id"], "one spawn position, two shards")
        self.case.assertNotEqual(answers[0]["join_token"], answers[1]["join_token"], "a retried join reused the token")
        # A join token alone does not take a place: the player counts once connected on UDP.
        self.read_session(session_id)

    @rule(limit=page_numbers, offset=page_numbers, state=st.sampled_from(("",) + SESSION_STATES),
          map_name=st.one_of(st.just(""), valid_maps))
    def list_a_page(self, limit: Optional[int], offset: Optional[int], state: str, map_name: str) -> None:
        query = {name: str(value) for name, value in (("limit", limit), ("offset", offset)) if value is not None}
        filters = {name: value for name, value in (("state", state), ("map", map_name)) if value}
        resp = self.request("GET", "/api/v1/sessions", query=dict(query, **filters))
        self.case.assertEqual(resp.status, 200, resp.describe())
        assert_page(self.case, resp.json(), limit, offset, filters,
                    "GET /api/v1/sessions?{}".format(dict(query, **filters)))

    @rule()
    def list_own_sessions(self) -> None:
        resp = self.request("GET", "/api/v1/sessions", query={"map": RUN_MAP, "state": "open", "limit": "200"})
        self.case.assertEqual(resp.status, 200, resp.describe())
        listed = sorted(item["id"] for item in resp.json()["items"])
        public = sorted(sid for sid, s in self.open.items() if s["map"] == RUN_MAP and not s["private"])
        self.case.assertEqual(listed, public, "the open public sessions of this run's map")

    @rule(session_id=consumes(sessions))
    def close_session(self, session_id: str) -> None:
        path = "/api/v1/sessions/" + session_id
        resp = self.request("DELETE", path)
        self.case.assertEqual(resp.status, 204, resp.describe())
        self.open.pop(session_id)
        self.created.discard(session_id)
        gone = wait_for(lambda: self.request("GET", path).status == 404, Config.sync_timeout)
        self.case.assertTrue(gone, "closed session still readable after {}s".format(Config.sync_timeout))
        self.unknown_session_is_404(session_id)

    @rule(session_id=unknown_session_ids)
    def unknown_session_is_404(self, session_id: str) -> None:
        path = "/api/v1/sessions/" + session_id
        for method, target, body in (("GET", path, None), ("DELETE", path, None), ("POST", path + "/join", {})):
            resp = self.request(method, target, json_body=body)
            assert_error(self.case, resp, 404, "not_found", describe(method, target, resp))

    @rule()
    def own_profile(self) -> None:
        resp = self.request("GET", "/api/v1/players/" + self.player_id)
        self.case.assertEqual(resp.status, 200, resp.describe())
        player = resp.json()
        assert_fields(self.case, "Player", player, "player")
        self.case.assertEqual(player["id"], self.player_id)
        played = assert_counter(self.case, player["total_play_seconds"], "total_play_seconds")
        self.case.assertGreaterEqual(played, self.play_seconds, "total_play_seconds went down")
        self.play_seconds = played

    @rule()
    def shards(self) -> None:
        resp = self.request("GET", "/api/v1/shards")
        self.case.assertEqual(resp.status, 200, resp.describe())
        listing = resp.json()
        assert_fields(self.case, "ShardList", listing, "shards")
        self.case.assertEqual(listing["total"], len(listing["items"]))
        ids = [shard.get("id", "") for shard in listing["items"]]
        self.case.assertEqual(ids, sorted(ids), "shards not ordered by id")
        for shard in listing["items"]:
            assert_fields(self.case, "Shard", shard, "shard")
            players = assert_counter(self.case, shard["players"], "shard players")
            self.case.assertLessEqual(players, shard["capacity"], "shard {} over capacity".format(shard["id"]))
            self.case.assertIn(shard["state"], ("active", "draining"))


class Test02SessionProperties(SessionLifecycle.TestCase):  # type: ignore[name-defined]
    settings = property_settings(stateful_step_count=20)

    @classmethod
    def setUpClass(cls) -> None:
        if not Config.base_url:
            raise unittest.SkipTest(SKIP_REASON)
        if not (Config.username and Config.password):
            raise unittest.SkipTest("SPACETIME_TEST_USERNAME / SPACETIME_TEST_PASSWORD are not set")
        client = ApiClient(Config.base_url, Config.timeout, Config.insecure)
        resp = call(client, "POST", "/api/v1/auth/login",
                    json_body={"username": Config.username, "password": Config.password})
        if resp.status != 200:
            raise AssertionError("login of {!r} failed: {}".format(Config.username, resp.describe()))
        SessionLifecycle.client = client
        SessionLifecycle.token = resp.json()["access_token"]
        SessionLifecycle.player_id = resp.json()["player_id"]


def main(argv: List[str]) -> int:
    title = "SpaceTime VR API properties ({} examples each)".format(EXAMPLES)
    skip = "{}: the properties need a running SpaceTime VR deployment. Every test is skipped.".format(SKIP_REASON)
    return run_suite(argv, __name__, SpaceTimeTestCase, title, skip)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
