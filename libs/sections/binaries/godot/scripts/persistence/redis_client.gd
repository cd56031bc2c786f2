class_name RedisClient
extends RefCounted
## Minimal Redis client (RESP2) over a non-blocking TCP or TLS stream.
## Commands are serialised: one request in flight per connection.
##
## REDIS_URL: redis://:password@redis:6379/0  (rediss:// for TLS)

const IO_TIMEOUT_MSEC := 3000

var host := "127.0.0.1"
var port := 6379
var username := ""
var password := ""
var db_index := 0
var use_tls := false
var connected := false
var last_error := ""

var _tcp: StreamPeerTCP
var _stream = null
var _in := PackedByteArray()
var _busy := false


static func from_url(url: String) -> RedisClient:
	var client := RedisClient.new()
	var rest := url
	if rest.begins_with("rediss://"):
		client.use_tls = true
		rest = rest.substr(9)
	elif rest.begins_with("redis://"):
		rest = rest.substr(8)
	else:
		return null
	var at := rest.rfind("@")
	if at >= 0:
		var userinfo := rest.substr(0, at)
		rest = rest.substr(at + 1)
		var colon := userinfo.find(":")
		if colon >= 0:
			client.username = userinfo.substr(0, colon).uri_decode()
			client.password = userinfo.substr(colon + 1).uri_decode()
		else:
			client.password = userinfo.uri_decode()
	var slash := rest.find("/")
	if slash >= 0:
		client.db_index = rest.substr(slash + 1).to_int()
		rest = rest.substr(0, slash)
	var colon_port := rest.rfind(":")
	if colon_port > 0:
		client.port = rest.substr(colon_port + 1).to_int()
		rest = rest.substr(0, colon_port)
	client.host = rest
	return client


## Sends one command, e.g. await client.command(["SET", "key", "value", "EX", "60"]).
## Returns {"ok": true, "value": <reply>} or {"ok": false, "error": "..."}.
func command(args: Array) -> Dictionary:
	var deadline := Time.get_ticks_msec() + IO_TIMEOUT_MSEC
	while _busy:
		if Time.get_ticks_msec() > deadline:
			return {"ok": false, "error": "redis client busy"}
		await _next_frame()
	_busy = true
	var result := {"ok": false, "error": "not connected"}
	var is_open := connected
	if not is_open:
		is_open = await _open()
	if is_open:
		result = await _round_trip(args)
	_busy = false
	return result


func close() -> void:
	if _tcp != null:
		_tcp.disconnect_from_host()
	_stream = null
	connected = false
	_in.clear()


func _open() -> bool:
	close()
	_tcp = StreamPeerTCP.new()
	if _tcp.connect_to_host(host, port) != OK:
		return _fail("cannot connect to redis at %s:%d" % [host, port])
	var deadline := Time.get_ticks_msec() + IO_TIMEOUT_MSEC
	while _tcp.get_status() != StreamPeerTCP.STATUS_CONNECTED:
		_tcp.poll()
		if _tcp.get_status() in [StreamPeerTCP.STATUS_ERROR, StreamPeerTCP.STATUS_NONE] or Time.get_ticks_msec() > deadline:
			return _fail("connection to redis at %s:%d failed" % [host, port])
		await _next_frame()
	_stream = _tcp
	if use_tls:
		var tls := StreamPeerTLS.new()
		if tls.connect_to_stream(_tcp, host, TLSOptions.client()) != OK:
			return _fail("redis TLS setup failed")
		while tls.get_status() == StreamPeerTLS.STATUS_HANDSHAKING:
			tls.poll()
			if Time.get_ticks_msec() > deadline:
				break
			await _next_frame()
		if tls.get_status() != StreamPeerTLS.STATUS_CONNECTED:
			return _fail("redis TLS handshake failed")
		_stream = tls
	connected = true
	if not password.is_empty():
		var auth_args := ["AUTH", password] if username.is_empty() else ["AUTH", username, password]
		var auth: Dictionary = await _round_trip(auth_args)
		if not auth["ok"]:
			return _fail("redis AUTH failed: %s" % auth["error"])
	if db_index != 0:
		var selected: Dictionary = await _round_trip(["SELECT", str(db_index)])
		if not selected["ok"]:
			return _fail("redis SELECT failed: %s" % selected["error"])
	return true


func _round_trip(args: Array) -> Dictionary:
	var request := ("*%d\r\n" % args.size()).to_utf8_buffer()
	for arg in args:
		var bytes := str(arg).to_utf8_buffer()
		request.append_array(("$%d\r\n" % bytes.size()).to_utf8_buffer())
		request.append_array(bytes)
		request.append_array("\r\n".to_utf8_buffer())
	if _stream.put_data(request) != OK:
		_fail("redis write failed")
		return {"ok": false, "error": last_error}
	var reply: Dictionary = await _read_reply()
	return reply


func _read_reply() -> Dictionary:
	var line: Variant = await _read_line()
	if line == null:
		return {"ok": false, "error": last_error}
	var text: String = line
	var prefix := text.left(1)
	var payload := text.substr(1)
	match prefix:
		"+":
			return {"ok": true, "value": payload}
		"-":
			return {"ok": false, "error": payload}
		":":
			return {"ok": true, "value": payload.to_int()}
		"$":
			var length := payload.to_int()
			if length < 0:
				return {"ok": true, "value": null}
			if not await _fill(length + 2):
				return {"ok": false, "error": last_error}
			var value := _in.slice(0, length).get_string_from_utf8()
			_in = _in.slice(length + 2)
			return {"ok": true, "value": value}
		"*":
			var count := payload.to_int()
			if count < 0:
				return {"ok": true, "value": null}
			var items: Array = []
			for _i in count:
				var item: Dictionary = await _read_reply()
				if not item["ok"] and not item.has("value"):
					return item
				items.append(item.get("value"))
			return {"ok": true, "value": items}
	_fail("unexpected redis reply type %s" % prefix)
	return {"ok": false, "error": last_error}


func _read_line() -> Variant:
	var deadline := Time.get_ticks_msec() + IO_TIMEOUT_MSEC
	while true:
		for i in range(_in.size() - 1):
			if _in[i] == 13 and _in[i + 1] == 10:
				var line := _in.slice(0, i).get_string_from_utf8()
				_in = _in.slice(i + 2)
				return line
		if Time.get_ticks_msec() > deadline:
			_fail("redis read timed out")
			return null
		if not await _fill(_in.size() + 1):
			return null
	return null


func _fill(count: int) -> bool:
	var deadline := Time.get_ticks_msec() + IO_TIMEOUT_MSEC
	while _in.size() < count:
		if _stream == null:
			return _fail("redis connection closed")
		_stream.poll()
		var available: int = _stream.get_available_bytes()
		if available > 0:
			var chunk: Array = _stream.get_partial_data(available)
			if chunk[0] != OK:
				return _fail("redis read failed")
			_in.append_array(chunk[1])
			continue
		if _tcp.get_status() != StreamPeerTCP.STATUS_CONNECTED:
			return _fail("redis connection closed")
		if Time.get_ticks_msec() > deadline:
			return _fail("redis read timed out")
		await _next_frame()
	return true


func _fail(reason: String) -> bool:
	last_error = reason
	connected = false
	return false


func _next_frame() -> Signal:
	return (Engine.get_main_loop() as SceneTree).process_frame
