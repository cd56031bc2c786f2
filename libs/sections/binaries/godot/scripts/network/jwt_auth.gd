class_name JwtAuth
extends RefCounted
## HS256 JSON Web Tokens and API key checks for the HTTP API and the game transport.
##
## Only HS256 is accepted: tokens whose header names another algorithm (including
## "none") are rejected before the signature is looked at.

const ISSUER := "spacetime-vr"
const AUDIENCE_API := "spacetime-api"
const AUDIENCE_GAME := "spacetime-game"
const CLOCK_SKEW_SECONDS := 30


static func issue(claims: Dictionary, secret: String, ttl_seconds: int, audience: String) -> String:
	var now := int(Time.get_unix_time_from_system())
	var payload := claims.duplicate()
	payload["iss"] = ISSUER
	payload["aud"] = audience
	payload["iat"] = now
	payload["nbf"] = now
	payload["exp"] = now + ttl_seconds
	payload["jti"] = random_id(16)
	var header_b64 := base64url_encode(JSON.stringify({"alg": "HS256", "typ": "JWT"}).to_utf8_buffer())
	var payload_b64 := base64url_encode(JSON.stringify(payload).to_utf8_buffer())
	var signing_input := header_b64 + "." + payload_b64
	return signing_input + "." + base64url_encode(_hmac(secret, signing_input))


## Returns {"ok": true, "claims": {...}} or {"ok": false, "error": "<reason>"}.
static func verify(token: String, secret: String, audience: String) -> Dictionary:
	var parts := token.split(".")
	if parts.size() != 3:
		return _fail("malformed token")
	var header: Variant = JSON.parse_string(base64url_decode(parts[0]).get_string_from_utf8())
	if typeof(header) != TYPE_DICTIONARY or header.get("alg", "") != "HS256":
		return _fail("unsupported token algorithm")
	var expected := _hmac(secret, parts[0] + "." + parts[1])
	var crypto := Crypto.new()
	if not crypto.constant_time_compare(expected, base64url_decode(parts[2])):
		return _fail("bad signature")
	var claims: Variant = JSON.parse_string(base64url_decode(parts[1]).get_string_from_utf8())
	if typeof(claims) != TYPE_DICTIONARY:
		return _fail("malformed claims")
	var now := int(Time.get_unix_time_from_system())
	if claims.get("iss", "") != ISSUER or claims.get("aud", "") != audience:
		return _fail("wrong issuer or audience")
	if int(claims.get("exp", 0)) + CLOCK_SKEW_SECONDS < now:
		return _fail("token expired")
	if int(claims.get("nbf", 0)) - CLOCK_SKEW_SECONDS > now:
		return _fail("token not yet valid")
	if str(claims.get("sub", "")).is_empty():
		return _fail("token has no subject")
	return {"ok": true, "claims": claims}


## Constant-time API key comparison. Both sides are hashed first so that the
## comparison time does not depend on the length of the presented key either.
static func api_key_matches(presented: String, expected: String) -> bool:
	if expected.is_empty() or presented.is_empty():
		return false
	var crypto := Crypto.new()
	return crypto.constant_time_compare(_sha256(presented), _sha256(expected))


## Extracts the token from an "Authorization: Bearer <token>" header value.
static func bearer_token(authorization: String) -> String:
	var value := authorization.strip_edges()
	if value.length() > 7 and value.substr(0, 7).to_lower() == "bearer ":
		return value.substr(7).strip_edges()
	return ""


## URL-safe random identifier with `byte_count` bytes of entropy from the OS CSPRNG.
static func random_id(byte_count: int) -> String:
	return base64url_encode(Crypto.new().generate_random_bytes(byte_count))


static func base64url_encode(data: PackedByteArray) -> String:
	return Marshalls.raw_to_base64(data).replace("+", "-").replace("/", "_").trim_suffix("==").trim_suffix("=")


static func base64url_decode(text: String) -> PackedByteArray:
	var b64 := text.replace("-", "+").replace("_", "/")
	match b64.length() % 4:
		2:
			b64 += "=="
		3:
			b64 += "="
		1:
			return PackedByteArray()
	return Marshalls.base64_to_raw(b64)


static func _hmac(secret: String, message: String) -> PackedByteArray:
	return Crypto.new().hmac_digest(HashingContext.HASH_SHA256, secret.to_utf8_buffer(), message.to_utf8_buffer())


static func _sha256(text: String) -> PackedByteArray:
	var ctx := HashingContext.new()
	ctx.start(HashingContext.HASH_SHA256)
	ctx.update(text.to_utf8_buffer())
	return ctx.finish()


static func _fail(reason: String) -> Dictionary:
	return {"ok": false, "error": reason}
