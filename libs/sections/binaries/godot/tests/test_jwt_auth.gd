extends GdUnitTestSuite
## Tokens for the HTTP API and the game transport.

const SECRET := "test-secret-0123456789abcdef0123456789"


func test_issued_token_verifies() -> void:
	var token := JwtAuth.issue({"sub": "player-1"}, SECRET, 60, JwtAuth.AUDIENCE_API)
	var result := JwtAuth.verify(token, SECRET, JwtAuth.AUDIENCE_API)
	assert_bool(result["ok"]).is_true()
	assert_str(result["claims"]["sub"]).is_equal("player-1")
	assert_str(result["claims"]["iss"]).is_equal("spacetime-vr")


func test_wrong_secret_is_rejected() -> void:
	var token := JwtAuth.issue({"sub": "player-1"}, SECRET, 60, JwtAuth.AUDIENCE_API)
	var result := JwtAuth.verify(token, SECRET + "x", JwtAuth.AUDIENCE_API)
	assert_bool(result["ok"]).is_false()
	assert_str(result["error"]).is_equal("bad signature")


func test_game_token_is_not_an_api_token() -> void:
	var token := JwtAuth.issue({"sub": "player-1", "sid": "ses_abc"}, SECRET, 60, JwtAuth.AUDIENCE_GAME)
	assert_bool(JwtAuth.verify(token, SECRET, JwtAuth.AUDIENCE_API)["ok"]).is_false()
	assert_bool(JwtAuth.verify(token, SECRET, JwtAuth.AUDIENCE_GAME)["ok"]).is_true()


func test_expired_token_is_rejected() -> void:
	var token := JwtAuth.issue({"sub": "player-1"}, SECRET, -120, JwtAuth.AUDIENCE_API)
	assert_str(JwtAuth.verify(token, SECRET, JwtAuth.AUDIENCE_API)["error"]).is_equal("token expired")


func test_alg_none_is_rejected() -> void:
	var header := JwtAuth.base64url_encode(JSON.stringify({"alg": "none", "typ": "JWT"}).to_utf8_buffer())
	var payload := JwtAuth.base64url_encode(JSON.stringify({"sub": "admin", "iss": "spacetime-vr", "aud": "spacetime-api", "exp": 9999999999}).to_utf8_buffer())
	var result := JwtAuth.verify(header + "." + payload + ".", SECRET, JwtAuth.AUDIENCE_API)
	assert_str(result["error"]).is_equal("unsupported token algorithm")


func test_bearer_header_parsing() -> void:
	assert_str(JwtAuth.bearer_token("Bearer abc.def.ghi")).is_equal("abc.def.ghi")
	assert_str(JwtAuth.bearer_token("bearer   abc")).is_equal("abc")
	assert_str(JwtAuth.bearer_token("Basic dXNlcjpwdw==")).is_equal("")


func test_api_key_comparison() -> void:
	assert_bool(JwtAuth.api_key_matches("k".repeat(64), "k".repeat(64))).is_true()
	assert_bool(JwtAuth.api_key_matches("k".repeat(63), "k".repeat(64))).is_false()
	assert_bool(JwtAuth.api_key_matches("", "")).is_false()


func test_base64url_round_trip() -> void:
	var data := PackedByteArray([0, 250, 251, 252, 253, 254, 255, 62, 63])
	var encoded := JwtAuth.base64url_encode(data)
	assert_bool(encoded.contains("+") or encoded.contains("/") or encoded.contains("=")).is_false()
	assert_that(JwtAuth.base64url_decode(encoded)).is_equal(data)
