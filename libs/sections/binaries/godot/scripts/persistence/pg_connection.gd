class_name PgConnection
extends RefCounted
## One PostgreSQL connection speaking the v3 frontend/backend protocol over a
## non-blocking StreamPeerTCP (optionally wrapped in StreamPeerTLS).
##
## Supports SCRAM-SHA-256 and MD5 authentication, sslmode disable / prefer /
## require / verify-full, and parameterised queries through the extended query
## protocol (text format), so values never get spliced into SQL text.

const PROTOCOL_3_0 := 196608
const SSL_REQUEST_CODE := 80877103
const IO_TIMEOUT_MSEC := 5000
const APPLICATION_NAME := "spacetime-server"

# Type OIDs converted from text to native values; everything else stays a String.
const BOOL_OID := 16
const INT_OIDS := [20, 21, 23, 26]
const FLOAT_OIDS := [700, 701, 1700]
const JSON_OIDS := [114, 3802]

var settings: Dictionary
var connected := false
var busy := false
var last_error := ""

var _tcp: StreamPeerTCP
var _stream = null  # StreamPeerTCP or StreamPeerTLS; both offer poll() and the StreamPeer API.
var _in := PackedByteArray()
var _crypto := Crypto.new()


func _init(connection_settings: Dictionary) -> void:
	settings = connection_settings


## Connects and authenticates. Returns true when the server is ready for queries.
func open() -> bool:
	close()
	_tcp = StreamPeerTCP.new()
	if _tcp.connect_to_host(settings["host"], settings["port"]) != OK:
		return _fail("cannot resolve or connect to %s:%d" % [settings["host"], settings["port"]])
	var deadline := Time.get_ticks_msec() + IO_TIMEOUT_MSEC
	while true:
		_tcp.poll()
		var status := _tcp.get_status()
		if status == StreamPeerTCP.STATUS_CONNECTED:
			break
		if status == StreamPeerTCP.STATUS_ERROR or status == StreamPeerTCP.STATUS_NONE or Time.get_ticks_msec() > deadline:
			return _fail("connection to %s:%d failed" % [settings["host"], settings["port"]])
		await _next_frame()
	_stream = _tcp

	var sslmode: String = settings.get("sslmode", "prefer")
	if sslmode != "disable":
		var use_tls: bool = await _negotiate_tls(sslmode)
		if not use_tls and sslmode in ["require", "verify-ca", "verify-full"]:
			return _fail(last_error if not last_error.is_empty() else "server does not support TLS")

	var startup := _i32(PROTOCOL_3_0)
	for key: String in ["user", "database", "application_name"]:
		startup.append_array(_cstr(key))
		startup.append_array(_cstr(APPLICATION_NAME if key == "application_name" else str(settings[key])))
	startup.append(0)
	if not _send(_i32(startup.size() + 4) + startup):
		return false

	var scram := {}
	while true:
		var msg: Dictionary = await _read_message()
		if msg.is_empty():
			return false
		var body: PackedByteArray = msg["body"]
		match msg["type"]:
			"R":
				var code := _read_i32(body, 0)
				match code:
					0:
						pass
					3:
						if _stream == _tcp:
							return _fail("server asked for a cleartext password over an unencrypted connection")
						_send(_message("p", _cstr(settings["password"])))
					5:
						var inner := _md5_hex((str(settings["password"]) + str(settings["user"])).to_utf8_buffer())
						_send(_message("p", _cstr("md5" + _md5_hex(inner.to_ascii_buffer() + body.slice(4, 8)))))
					10:
						if not body.slice(4).get_string_from_utf8().contains("SCRAM-SHA-256"):
							return _fail("server offers no supported SASL mechanism")
						scram = _scram_first()
						var first: PackedByteArray = scram["client_first"].to_utf8_buffer()
						_send(_message("p", _cstr("SCRAM-SHA-256") + _i32(first.size()) + first))
					11:
						var final_message: String = _scram_final(scram, body.slice(4).get_string_from_utf8())
						if final_message.is_empty():
							return false
						_send(_message("p", final_message.to_utf8_buffer()))
					12:
						if body.slice(4).get_string_from_utf8().strip_edges() != "v=" + str(scram.get("server_signature", "")):
							return _fail("server SCRAM signature mismatch")
					_:
						return _fail("unsupported authentication method %d" % code)
			"E":
				return _fail(_error_text(body))
			"Z":
				connected = true
				last_error = ""
				return true
			_:
				pass  # ParameterStatus, BackendKeyData, NoticeResponse
	return false


## Runs one statement with positional parameters ($1, $2, ...).
## Returns {"ok": true, "rows": [ {column: value} ], "command": "SELECT 1"} or {"ok": false, "error": "..."}.
func execute(sql: String, params: Array) -> Dictionary:
	if not connected:
		return {"ok": false, "error": "not connected"}
	var bind := _cstr("") + _cstr("") + _i16(0) + _i16(params.size())
	for value in params:
		if value == null:
			bind.append_array(_i32(-1))
		else:
			var encoded := (("true" if value else "false") if typeof(value) == TYPE_BOOL else str(value)).to_utf8_buffer()
			bind.append_array(_i32(encoded.size()) + encoded)
	bind.append_array(_i16(0))
	var batch := _message("P", _cstr("") + _cstr(sql) + _i16(0))
	batch.append_array(_message("B", bind))
	batch.append_array(_message("D", "P".to_ascii_buffer() + _cstr("")))
	batch.append_array(_message("E", _cstr("") + _i32(0)))
	batch.append_array(_message("S", PackedByteArray()))
	if not _send(batch):
		return {"ok": false, "error": last_error}

	var columns: Array = []
	var rows: Array = []
	var command := ""
	var error := ""
	while true:
		var msg: Dictionary = await _read_message()
		if msg.is_empty():
			return {"ok": false, "error": last_error}
		var body: PackedByteArray = msg["body"]
		match msg["type"]:
			"T":
				columns = _parse_row_description(body)
			"D":
				rows.append(_parse_data_row(body, columns))
			"C":
				command = body.get_string_from_utf8()
			"E":
				error = _error_text(body)
			"Z":
				if not error.is_empty():
					return {"ok": false, "error": error}
				return {"ok": true, "rows": rows, "command": command}
			_:
				pass  # ParseComplete, BindComplete, NoData, NoticeResponse
	return {"ok": false, "error": "unreachable"}


func close() -> void:
	if connected and _stream != null:
		_stream.put_data(_message("X", PackedByteArray()))
	if _tcp != null:
		_tcp.disconnect_from_host()
	connected = false
	_stream = null
	_in.clear()


# --- TLS -----------------------------------------------------------------------

func _negotiate_tls(sslmode: String) -> bool:
	if not _send(_i32(8) + _i32(SSL_REQUEST_CODE)):
		return false
	if not await _fill(1):
		return false
	var answer := _in[0]
	_in = _in.slice(1)
	if answer != 83:  # 'S'
		last_error = "server refused TLS"
		return false
	var options: TLSOptions
	if sslmode in ["verify-ca", "verify-full"]:
		var ca: X509Certificate = null
		var root_path: String = settings.get("sslrootcert", "")
		if not root_path.is_empty():
			ca = X509Certificate.new()
			if ca.load(root_path) != OK:
				last_error = "cannot load sslrootcert %s" % root_path
				return false
		options = TLSOptions.client(ca)
	else:
		# sslmode=require encrypts without authenticating the server, as libpq does.
		options = TLSOptions.client_unsafe()
	var tls := StreamPeerTLS.new()
	if tls.connect_to_stream(_tcp, settings["host"], options) != OK:
		last_error = "TLS setup failed"
		return false
	var deadline := Time.get_ticks_msec() + IO_TIMEOUT_MSEC
	while true:
		tls.poll()
		var status := tls.get_status()
		if status == StreamPeerTLS.STATUS_CONNECTED:
			_stream = tls
			return true
		if status != StreamPeerTLS.STATUS_HANDSHAKING or Time.get_ticks_msec() > deadline:
			last_error = "TLS handshake with %s failed" % settings["host"]
			return false
		await _next_frame()
	return false


# --- SCRAM-SHA-256 (RFC 5802 / RFC 7677) ----------------------------------------

func _scram_first() -> Dictionary:
	var nonce := Marshalls.raw_to_base64(_crypto.generate_random_bytes(18))
	var first_bare := "n=,r=" + nonce
	return {"nonce": nonce, "client_first_bare": first_bare, "client_first": "n,," + first_bare}


func _scram_final(state: Dictionary, server_first: String) -> String:
	var attributes := {}
	for part: String in server_first.split(","):
		if part.length() > 2 and part[1] == "=":
			attributes[part[0]] = part.substr(2)
	var server_nonce: String = attributes.get("r", "")
	var iterations := int(attributes.get("i", "0"))
	if not server_nonce.begins_with(state["nonce"]) or iterations < 4096 or not attributes.has("s"):
		_fail("invalid SCRAM server-first message")
		return ""
	var salted := _pbkdf2_sha256(str(settings["password"]).to_utf8_buffer(), Marshalls.base64_to_raw(attributes["s"]), iterations)
	var client_key := _hmac(salted, "Client Key".to_utf8_buffer())
	var stored_key := _sha256(client_key)
	var without_proof := "c=biws,r=" + server_nonce
	var auth_message := ("%s,%s,%s" % [state["client_first_bare"], server_first, without_proof]).to_utf8_buffer()
	var signature := _hmac(stored_key, auth_message)
	var proof := PackedByteArray()
	proof.resize(client_key.size())
	for i in client_key.size():
		proof[i] = client_key[i] ^ signature[i]
	var server_key := _hmac(salted, "Server Key".to_utf8_buffer())
	state["server_signature"] = Marshalls.raw_to_base64(_hmac(server_key, auth_message))
	return without_proof + ",p=" + Marshalls.raw_to_base64(proof)


func _pbkdf2_sha256(password: PackedByteArray, salt: PackedByteArray, iterations: int) -> PackedByteArray:
	var u := _hmac(password, salt + PackedByteArray([0, 0, 0, 1]))
	var result := u.duplicate()
	for _round in range(1, iterations):
		u = _hmac(password, u)
		for i in result.size():
			result[i] = result[i] ^ u[i]
	return result


func _hmac(key: PackedByteArray, message: PackedByteArray) -> PackedByteArray:
	return _crypto.hmac_digest(HashingContext.HASH_SHA256, key, message)


func _sha256(data: PackedByteArray) -> PackedByteArray:
	var ctx := HashingContext.new()
	ctx.start(HashingContext.HASH_SHA256)
	ctx.update(data)
	return ctx.finish()


func _md5_hex(data: PackedByteArray) -> String:
	var ctx := HashingContext.new()
	ctx.start(HashingContext.HASH_MD5)
	ctx.update(data)
	return ctx.finish().hex_encode()


# --- wire format ------------------------------------------------------------------

func _read_message() -> Dictionary:
	if not await _fill(5):
		return {}
	var kind := String.chr(_in[0])
	var length := _read_i32(_in, 1)
	if length < 4 or length > 64 * 1024 * 1024:
		_fail("protocol error: bad message length")
		return {}
	if not await _fill(1 + length):
		return {}
	var body := _in.slice(5, 1 + length)
	_in = _in.slice(1 + length)
	return {"type": kind, "body": body}


## Waits until at least `count` bytes are buffered.
func _fill(count: int) -> bool:
	var deadline := Time.get_ticks_msec() + IO_TIMEOUT_MSEC
	while _in.size() < count:
		if _stream == null:
			return _fail("connection closed")
		_stream.poll()
		var available: int = _stream.get_available_bytes()
		if available > 0:
			var chunk: Array = _stream.get_partial_data(available)
			if chunk[0] != OK:
				return _fail("read error")
			_in.append_array(chunk[1])
			continue
		if _tcp.get_status() != StreamPeerTCP.STATUS_CONNECTED:
			return _fail("connection closed by server")
		if Time.get_ticks_msec() > deadline:
			return _fail("timed out waiting for the server")
		await _next_frame()
	return true


func _send(data: PackedByteArray) -> bool:
	if _stream == null or _stream.put_data(data) != OK:
		return _fail("write error")
	return true


func _parse_row_description(body: PackedByteArray) -> Array:
	var columns: Array = []
	var count := _read_i16(body, 0)
	var offset := 2
	for _i in count:
		var name_end := body.find(0, offset)
		var column_name := body.slice(offset, name_end).get_string_from_utf8()
		offset = name_end + 1
		var type_oid := _read_i32(body, offset + 6)
		columns.append({"name": column_name, "oid": type_oid})
		offset += 18
	return columns


func _parse_data_row(body: PackedByteArray, columns: Array) -> Dictionary:
	var row := {}
	var count := _read_i16(body, 0)
	var offset := 2
	for i in count:
		var length := _read_i32(body, offset)
		offset += 4
		var column: Dictionary = columns[i] if i < columns.size() else {"name": "column%d" % i, "oid": 25}
		if length < 0:
			row[column["name"]] = null
			continue
		var text := body.slice(offset, offset + length).get_string_from_utf8()
		offset += length
		row[column["name"]] = _convert(text, int(column["oid"]))
	return row


func _convert(text: String, oid: int) -> Variant:
	if oid == BOOL_OID:
		return text == "t"
	if oid in INT_OIDS:
		return text.to_int()
	if oid in FLOAT_OIDS:
		return text.to_float()
	if oid in JSON_OIDS:
		return JSON.parse_string(text)
	return text


func _error_text(body: PackedByteArray) -> String:
	var fields := {}
	var offset := 0
	while offset < body.size() and body[offset] != 0:
		var code := String.chr(body[offset])
		var end := body.find(0, offset + 1)
		if end < 0:
			break
		fields[code] = body.slice(offset + 1, end).get_string_from_utf8()
		offset = end + 1
	return "%s %s: %s" % [fields.get("S", "ERROR"), fields.get("C", "XX000"), fields.get("M", "unknown error")]


func _fail(reason: String) -> bool:
	last_error = reason
	connected = false
	return false


func _next_frame() -> Signal:
	return (Engine.get_main_loop() as SceneTree).process_frame


static func _message(kind: String, body: PackedByteArray) -> PackedByteArray:
	return kind.to_ascii_buffer() + _i32(body.size() + 4) + body


static func _cstr(text: String) -> PackedByteArray:
	var bytes := text.to_utf8_buffer()
	bytes.append(0)
	return bytes


static func _i32(value: int) -> PackedByteArray:
	var v := value & 0xFFFFFFFF
	return PackedByteArray([(v >> 24) & 0xFF, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF])


static func _i16(value: int) -> PackedByteArray:
	var v := value & 0xFFFF
	return PackedByteArray([(v >> 8) & 0xFF, v & 0xFF])


static func _read_i32(bytes: PackedByteArray, offset: int) -> int:
	var v := (bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]
	return v - 0x100000000 if v >= 0x80000000 else v


static func _read_i16(bytes: PackedByteArray, offset: int) -> int:
	var v := (bytes[offset] << 8) | bytes[offset + 1]
	return v - 0x10000 if v >= 0x8000 else v
