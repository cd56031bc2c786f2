#!/usr/bin/env python3
"""SpaceTime VR end-to-end integration tests.

Exercises the public HTTP API of a running deployment (staging, or a local
server) the way a VR client does: log in, create and join game sessions, read
data back, and check that two players see the same session state.

Standard library only (Python 3.8+). Configuration comes from the environment:

    SPACETIME_BASE_URL          base URL, e.g. https://staging.spacetime-vr.example.com
                                (unset: every test is skipped and the run succeeds)
    SPACETIME_TEST_USERNAME     first test player  (login, sessions, persistence)
    SPACETIME_TEST_PASSWORD
    SPACETIME_TEST_USERNAME_2   second test player (multiplayer synchronisation)
    SPACETIME_TEST_PASSWORD_2
    SPACETIME_API_KEY           optional operator key: cleans up sessions left behind
    SPACETIME_TEST_TIMEOUT      seconds per HTTP request (default 10)
    SPACETIME_SYNC_TIMEOUT      seconds to wait for cross-pod propagation (default 15)
    SPACETIME_TEST_INSECURE     "1" to accept self-signed TLS certificates

Usage:
    python3 test_runner.py [--base-url URL] [unittest options, e.g. -v or -k Session]

See README.md for how to provision the test players.
"""

import json
import os
import ssl
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional

USER_AGENT = "spacetime-integration-tests/2.5"
SKIP_REASON = "SPACETIME_BASE_URL is not set"
SKIP_NO_URL = (
    "SPACETIME_BASE_URL is not set: integration tests need a running SpaceTime VR "
    "deployment (e.g. SPACETIME_BASE_URL=https://staging.spacetime-vr.example.com). "
    "Every test is skipped."
)


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _env_float(name: str, default: float) -> float:
    value = _env(name)
    if not value:
        return default
    try:
        parsed = float(value)
    except ValueError:
        raise SystemExit("{} must be a number, got {!r}".format(name, value))
    if parsed <= 0:
        raise SystemExit("{} must be positive, got {!r}".format(name, value))
    return parsed


class Config:
    """Settings read once from the environment (and --base-url)."""

    base_url = _env("SPACETIME_BASE_URL").rstrip("/")
    username = _env("SPACETIME_TEST_USERNAME")
    password = os.environ.get("SPACETIME_TEST_PASSWORD", "")
    username_2 = _env("SPACETIME_TEST_USERNAME_2")
    password_2 = os.environ.get("SPACETIME_TEST_PASSWORD_2", "")
    api_key = os.environ.get("SPACETIME_API_KEY", "")
    timeout = _env_float("SPACETIME_TEST_TIMEOUT", 10.0)
    sync_timeout = _env_float("SPACETIME_SYNC_TIMEOUT", 15.0)
    insecure = _env("SPACETIME_TEST_INSECURE") in ("1", "true", "yes")


class Response:
    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            raise AssertionError("response is not JSON (HTTP {}): {!r}".format(self.status, self.text[:200]))

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def describe(self) -> str:
        return "HTTP {} {}".format(self.status, self.text[:300])


class ApiClient:
    """Minimal JSON-over-HTTP client for the /api/v1 REST API."""

    def __init__(self, base_url: str, timeout: float, insecure: bool = False) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.ssl_context = None  # type: Optional[ssl.SSLContext]
        if insecure and base_url.startswith("https://"):
            self.ssl_context = ssl.create_default_context()
            self.ssl_context.check_hostname = False
            self.ssl_context.verify_mode = ssl.CERT_NONE

    def request(
        self,
        method: str,
        path: str,
        token: Optional[str] = None,
        api_key: Optional[str] = None,
        json_body: Optional[Dict[str, Any]] = None,
        raw_body: Optional[bytes] = None,
        content_type: Optional[str] = None,
        query: Optional[Dict[str, str]] = None,
        extra_headers: Optional[Dict[str, str]] = None,
    ) -> Response:
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "X-Request-ID": "it-" + uuid.uuid4().hex[:16],
            **(extra_headers or {}),
        }
        data = raw_body
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if content_type is not None:
            headers["Content-Type"] = content_type
        if token:
            headers["Authorization"] = "Bearer " + token
        if api_key:
            headers["X-API-Key"] = api_key
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.ssl_context) as resp:
                return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
        except urllib.error.HTTPError as err:
            body = err.read() if err.fp is not None else b""
            return Response(err.code, {k.lower(): v for k, v in err.headers.items()}, body)
        except (urllib.error.URLError, OSError) as err:
            raise AssertionError("{} {} failed: {}".format(method, url, err))

    def login(self, username: str, password: str) -> Dict[str, Any]:
        resp = self.request("POST", "/api/v1/auth/login", json_body={"username": username, "password": password})
        if resp.status != 200:
            raise AssertionError("login of {!r} failed: {}".format(username, resp.describe()))
        return resp.json()


_LOGINS = {}  # type: Dict[str, Dict[str, Any]]
_FIRST_LOGIN_AT = []  # type: List[datetime]


def login_once(client: ApiClient, username: str, password: str) -> Dict[str, Any]:
    """Logs a test player in once per run: the server allows only a few login
    attempts per client address and minute."""
    if username not in _LOGINS:
        if not _FIRST_LOGIN_AT:
            _FIRST_LOGIN_AT.append(datetime.now(timezone.utc))
        _LOGINS[username] = client.login(username, password)
    return _LOGINS[username]


def parse_timestamp(value: str) -> datetime:
    """Parses the API's UTC timestamps (YYYY-MM-DDTHH:MM:SS[.fff]Z)."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1]
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise AssertionError("not an ISO-8601 UTC timestamp: {!r}".format(value))


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    """Polls predicate until it returns True or timeout seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def unique_session_name(prefix: str) -> str:
    return "{} {}".format(prefix, uuid.uuid4().hex[:8])


@unittest.skipUnless(Config.base_url, SKIP_REASON)
class SpaceTimeTestCase(unittest.TestCase):
    """Base class: an API client and session cleanup."""

    client = None  # type: ApiClient

    @classmethod
    def setUpClass(cls) -> None:
        cls.client = ApiClient(Config.base_url, Config.timeout, Config.insecure)

    def setUp(self) -> None:
        self._created_sessions = []  # type: List[tuple]

    def tearDown(self) -> None:
        for session_id, token in self._created_sessions:
            resp = self.client.request("DELETE", "/api/v1/sessions/" + session_id, token=token)
            if resp.status not in (204, 404) and Config.api_key:
                self.client.request("DELETE", "/api/v1/sessions/" + session_id, api_key=Config.api_key)

    def create_session(self, token: str, **fields: Any) -> Dict[str, Any]:
        body = {"name": unique_session_name("IT"), "map": "orbital_station", "max_players": 4, "private": False}
        body.update(fields)
        resp = self.client.request("POST", "/api/v1/sessions", token=token, json_body=body)
        self.assertEqual(resp.status, 201, "create session: " + resp.describe())
        session = resp.json()
        self._created_sessions.append((session["id"], token))
        return session


class PlayerTestCase(SpaceTimeTestCase):
    """Tests that need the first test player, logged in once per class."""

    token = ""
    player_id = ""
    login_started = None  # type: datetime

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        if not (Config.username and Config.password):
            raise unittest.SkipTest("SPACETIME_TEST_USERNAME / SPACETIME_TEST_PASSWORD are not set (see README.md)")
        login = login_once(cls.client, Config.username, Config.password)
        cls.login_started = _FIRST_LOGIN_AT[0]
        cls.token = login["access_token"]
        cls.player_id = login["player_id"]


# --------------------------------------------------------------------------
# Public endpoints
# --------------------------------------------------------------------------

class Test01PublicEndpoints(SpaceTimeTestCase):
    def test_healthz_reports_ok(self) -> None:
        resp = self.client.request("GET", "/healthz")
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertEqual(resp.json().get("status"), "ok")

    def test_readyz_reports_dependencies(self) -> None:
        resp = self.client.request("GET", "/readyz")
        self.assertEqual(resp.status, 200, "deployment not ready: " + resp.describe())
        body = resp.json()
        self.assertEqual(body.get("status"), "ready")
        checks = body.get("checks", {})
        self.assertEqual(checks.get("database"), "ok", "PostgreSQL unreachable from the server")
        self.assertEqual(checks.get("redis"), "ok", "Redis unreachable from the server")

    def test_status_document(self) -> None:
        resp = self.client.request("GET", "/api/v1/status")
        self.assertEqual(resp.status, 200, resp.describe())
        status = resp.json()
        for field in ("version", "environment", "uptime_seconds", "players_connected", "tick_rate_hz", "draining"):
            self.assertIn(field, status)
        self.assertFalse(status["draining"], "the server answering this request is draining")
        self.assertGreaterEqual(status["tick_rate_hz"], 60, "tick rate below the VR minimum")

    def test_responses_carry_request_id(self) -> None:
        resp = self.client.request("GET", "/api/v1/status")
        self.assertTrue(resp.header("X-Request-ID"), "X-Request-ID header missing")

    def test_unknown_route_is_json_404(self) -> None:
        resp = self.client.request("GET", "/api/v1/does-not-exist")
        self.assertEqual(resp.status, 404, resp.describe())
        self.assertIn("error", resp.json())


# --------------------------------------------------------------------------
# Player login
# --------------------------------------------------------------------------

class Test02Authentication(PlayerTestCase):
    def test_login_issues_bearer_token(self) -> None:
        self.assertEqual(self.token.count("."), 2, "access token is not a JWT")
        uuid.UUID(self.player_id)  # raises if the player id is not a UUID

    def test_wrong_password_is_rejected(self) -> None:
        resp = self.client.request(
            "POST", "/api/v1/auth/login",
            json_body={"username": Config.username, "password": "not-the-password-" + uuid.uuid4().hex[:6]})
        self.assertIn(resp.status, (401, 429), resp.describe())
        if resp.status == 401:
            self.assertEqual(resp.json().get("error"), "invalid_credentials")

    def test_protected_endpoint_requires_token(self) -> None:
        resp = self.client.request("GET", "/api/v1/sessions")
        self.assertEqual(resp.status, 401, resp.describe())
        self.assertIn("Bearer", resp.header("WWW-Authenticate"))

    def test_invalid_token_is_rejected(self) -> None:
        suffix = "AAAA" if not self.token.endswith("AAAA") else "BBBB"
        resp = self.client.request("GET", "/api/v1/sessions", token=self.token[:-4] + suffix)
        self.assertEqual(resp.status, 401, resp.describe())

    def test_post_requires_json(self) -> None:
        resp = self.client.request("POST", "/api/v1/sessions", token=self.token,
                                   raw_body=b"name=x", content_type="application/x-www-form-urlencoded")
        self.assertEqual(resp.status, 415, resp.describe())


# --------------------------------------------------------------------------
# Session create / join
# --------------------------------------------------------------------------

class Test03SessionWorkflow(PlayerTestCase):
    def test_create_session(self) -> None:
        name = unique_session_name("Asteroid Survey")
        session = self.create_session(self.token, name=name, max_players=6)
        self.assertTrue(session["id"].startswith("ses_"), session["id"])
        self.assertEqual(session["name"], name)
        self.assertEqual(session["map"], "orbital_station")
        self.assertEqual(session["max_players"], 6)
        self.assertEqual(session["host_player_id"], self.player_id)
        self.assertEqual(session["state"], "open")
        endpoint = session["endpoint"]
        self.assertEqual(endpoint.get("protocol"), "udp")
        self.assertTrue(1 <= int(endpoint.get("port", 0)) <= 65535)

    def test_create_rejects_invalid_input(self) -> None:
        for bad in ({"name": ""}, {"name": "x", "map": "Not A Map!"}, {"name": "x", "max_players": 1}):
            resp = self.client.request("POST", "/api/v1/sessions", token=self.token, json_body=bad)
            self.assertEqual(resp.status, 400, "{} -> {}".format(bad, resp.describe()))

    def test_join_session_issues_join_token(self) -> None:
        session = self.create_session(self.token)
        resp = self.client.request("POST", "/api/v1/sessions/{}/join".format(session["id"]), token=self.token,
                                   json_body={"spawn_position": {"x": 12.5, "y": 1.7, "z": -40.0}})
        self.assertEqual(resp.status, 200, resp.describe())
        join = resp.json()
        self.assertEqual(join["session_id"], session["id"])
        self.assertEqual(join["player_id"], self.player_id)
        self.assertEqual(join["join_token"].count("."), 2, "join token is not a JWT")
        self.assertGreater(join["expires_in"], 0)
        self.assertEqual(join["endpoint"], session["endpoint"])
        self.assertTrue(join["shard_id"])

    def test_join_unknown_session_is_404(self) -> None:
        resp = self.client.request("POST", "/api/v1/sessions/ses_doesnotexist0000/join", token=self.token, json_body={})
        self.assertEqual(resp.status, 404, resp.describe())

    def test_close_session(self) -> None:
        session = self.create_session(self.token)
        path = "/api/v1/sessions/" + session["id"]
        resp = self.client.request("DELETE", path, token=self.token)
        self.assertEqual(resp.status, 204, resp.describe())
        gone = wait_for(lambda: self.client.request("GET", path, token=self.token).status == 404, Config.sync_timeout)
        self.assertTrue(gone, "closed session still visible after {}s".format(Config.sync_timeout))


# --------------------------------------------------------------------------
# Persistence (API -> PostgreSQL / Redis -> API)
# --------------------------------------------------------------------------

class Test04Persistence(PlayerTestCase):
    def test_login_is_persisted_on_player_profile(self) -> None:
        resp = self.client.request("GET", "/api/v1/players/" + self.player_id, token=self.token)
        self.assertEqual(resp.status, 200, resp.describe())
        player = resp.json()
        self.assertEqual(player["id"], self.player_id)
        self.assertTrue(player["display_name"])
        self.assertGreaterEqual(int(player["total_play_seconds"]), 0)
        created = parse_timestamp(player["created_at"])
        self.assertIsNotNone(player.get("last_seen_at"), "login did not record last_seen_at")
        last_seen = parse_timestamp(player["last_seen_at"])
        # Allow for clock skew between this machine and the database server.
        skew = timedelta(minutes=2)
        self.assertGreaterEqual(last_seen, self.login_started - skew,
                                "last_seen_at {} predates this run's login".format(player["last_seen_at"]))
        self.assertLessEqual(created, last_seen + skew)

    def test_unknown_player_is_404(self) -> None:
        resp = self.client.request("GET", "/api/v1/players/" + str(uuid.uuid4()), token=self.token)
        self.assertEqual(resp.status, 404, resp.describe())

    def test_session_round_trip_is_stable(self) -> None:
        name = unique_session_name("Persistence")
        created = self.create_session(self.token, name=name, map="nebula_outpost", max_players=3)
        path = "/api/v1/sessions/" + created["id"]
        # Repeated reads may be served by different pods through the session
        # registry: every read must return the same stored fields.
        for _ in range(5):
            resp = self.client.request("GET", path, token=self.token)
            self.assertEqual(resp.status, 200, resp.describe())
            stored = resp.json()
            for field in ("id", "name", "map", "max_players", "host_player_id", "private", "created_at", "endpoint"):
                self.assertEqual(stored.get(field), created.get(field), "field {!r} changed on read".format(field))

    def test_session_is_listed(self) -> None:
        created = self.create_session(self.token, map="deep_space_relay")

        def listed() -> bool:
            resp = self.client.request("GET", "/api/v1/sessions", token=self.token,
                                       query={"map": "deep_space_relay", "limit": "200"})
            return resp.status == 200 and any(item.get("id") == created["id"] for item in resp.json().get("items", []))

        self.assertTrue(wait_for(listed, Config.sync_timeout),
                        "session not listed after {}s".format(Config.sync_timeout))

    def test_private_session_is_not_listed(self) -> None:
        created = self.create_session(self.token, private=True)
        resp = self.client.request("GET", "/api/v1/sessions", token=self.token, query={"limit": "200"})
        self.assertEqual(resp.status, 200, resp.describe())
        self.assertNotIn(created["id"], [item.get("id") for item in resp.json().get("items", [])])


# --------------------------------------------------------------------------
# Multiplayer synchronisation (two players, possibly on different pods)
# --------------------------------------------------------------------------

class Test05MultiplayerSync(PlayerTestCase):
    token_2 = ""
    player_id_2 = ""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        if not (Config.username_2 and Config.password_2):
            raise unittest.SkipTest("SPACETIME_TEST_USERNAME_2 / SPACETIME_TEST_PASSWORD_2 are not set (see README.md)")
        login = login_once(cls.client, Config.username_2, Config.password_2)
        cls.token_2 = login["access_token"]
        cls.player_id_2 = login["player_id"]
        if cls.player_id_2 == cls.player_id:
            raise unittest.SkipTest("the two test players must be different accounts")

    def test_both_players_see_the_same_session(self) -> None:
        session = self.create_session(self.token, name=unique_session_name("Sync"), max_players=4)
        path = "/api/v1/sessions/" + session["id"]

        def visible_to_second_player() -> bool:
            return self.client.request("GET", path, token=self.token_2).status == 200

        self.assertTrue(wait_for(visible_to_second_player, Config.sync_timeout),
                        "player 2 cannot see the session after {}s".format(Config.sync_timeout))
        view_1 = self.client.request("GET", path, token=self.token).json()
        view_2 = self.client.request("GET", path, token=self.token_2).json()
        for field in ("id", "name", "map", "state", "max_players", "host_player_id", "endpoint", "shard_id"):
            self.assertEqual(view_1.get(field), view_2.get(field), "players disagree on {!r}".format(field))

    def test_both_players_join_the_same_endpoint(self) -> None:
        session = self.create_session(self.token, max_players=4)
        join_path = "/api/v1/sessions/{}/join".format(session["id"])
        join_1 = self.client.request("POST", join_path, token=self.token,
                                     json_body={"spawn_position": {"x": 0, "y": 0, "z": 0}})
        self.assertEqual(join_1.status, 200, join_1.describe())

        last = []  # type: List[Response]

        def second_player_joins() -> bool:
            # Retried: the session may not have reached player 2's pod yet.
            resp = self.client.request("POST", join_path, token=self.token_2,
                                       json_body={"spawn_position": {"x": 2, "y": 0, "z": 1}})
            last[:] = [resp]
            return resp.status == 200

        joined = wait_for(second_player_joins, Config.sync_timeout)
        self.assertTrue(joined, "player 2 could not join: " + last[0].describe())
        first, second = join_1.json(), last[0].json()
        self.assertEqual(first["session_id"], second["session_id"])
        self.assertEqual(first["endpoint"], second["endpoint"], "players were sent to different game endpoints")
        self.assertEqual(second["player_id"], self.player_id_2)
        self.assertNotEqual(first["join_token"], second["join_token"])

    def test_only_host_can_close_and_close_propagates(self) -> None:
        session = self.create_session(self.token)
        path = "/api/v1/sessions/" + session["id"]
        self.assertTrue(wait_for(lambda: self.client.request("GET", path, token=self.token_2).status == 200,
                                 Config.sync_timeout))
        resp = self.client.request("DELETE", path, token=self.token_2)
        self.assertEqual(resp.status, 403, "a non-host closed the session: " + resp.describe())

        resp = self.client.request("DELETE", path, token=self.token)
        self.assertEqual(resp.status, 204, resp.describe())
        self.assertTrue(wait_for(lambda: self.client.request("GET", path, token=self.token_2).status == 404,
                                 Config.sync_timeout),
                        "player 2 still sees the closed session after {}s".format(Config.sync_timeout))


def run_suite(argv: List[str], module: str, base_case: type, title: str, skip_message: str) -> int:
    """Runs a module's unittest suite against --base-url or SPACETIME_BASE_URL (every test of
    base_case skipped without one). Exit status: 0 passed or skipped, 1 failed, 2 usage error."""
    args = list(argv[1:])
    if "--base-url" in args:
        index = args.index("--base-url")
        if index + 1 >= len(args):
            print("error: --base-url requires a value", file=sys.stderr)
            return 2
        Config.base_url = args[index + 1].rstrip("/")
        del args[index:index + 2]
    if Config.base_url and not Config.base_url.startswith(("http://", "https://")):
        print("error: base URL must start with http:// or https://, got {!r}".format(Config.base_url), file=sys.stderr)
        return 2

    if not Config.base_url:
        print("SKIPPED: " + skip_message, file=sys.stderr)
    else:
        print("{} against {}".format(title, Config.base_url), file=sys.stderr)
    # Re-evaluate the class-level skip now that --base-url may have been given.
    base_case.__unittest_skip__ = not Config.base_url  # type: ignore[attr-defined]
    base_case.__unittest_skip_why__ = SKIP_REASON  # type: ignore[attr-defined]

    program = unittest.main(module=module, argv=[argv[0]] + args, exit=False,
                            verbosity=2 if Config.base_url else 1)
    result = program.result
    return 0 if result.wasSuccessful() else 1


def main(argv: List[str]) -> int:
    return run_suite(argv, __name__, SpaceTimeTestCase, "SpaceTime VR integration tests", SKIP_NO_URL)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
