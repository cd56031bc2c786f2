extends Node
## Root of scenes/main.tscn: starts the HTTP API and the game transport, runs the
## fixed-rate simulation tick and the housekeeping timer, and shuts down cleanly.
##
## Exit codes: 0 normal shutdown, 1 a listener could not start,
##             2 invalid configuration in production.
##
## Arguments (after --headless):
##   --smoke        boot every subsystem on loopback ports the system picks, without external
##                  services; print the ready line; shut down and exit 0. The release's export and
##                  image checks run this, and judge the build by that line.
##   --healthcheck  ask the running server's /healthz on HTTP_PORT; exit 0 on 200, else 1 (the
##                  image's HEALTHCHECK, so that the image needs no curl or wget).

const DATA_VOLUME_CHECK_SECONDS := 30.0
const HEALTHCHECK_TIMEOUT_MSEC := 3000

@onready var http_api: HttpApi = $HttpApi
@onready var transport: GameTransport = $GameTransport
@onready var vr_monitor: VRPerformanceMonitor = $VRPerformanceMonitor
@onready var housekeeping: Timer = $HousekeepingTimer

## Read by /healthz (liveness) and /api/v1/status.
var started_msec := 0
var last_tick_msec := 0

var _stopping := false
var _ticks_this_second := 0
var _second_started_msec := 0
var _since_volume_check := DATA_VOLUME_CHECK_SECONDS


func _ready() -> void:
	var arguments := OS.get_cmdline_args() + OS.get_cmdline_user_args()
	if arguments.has("--healthcheck"):
		_stopping = true
		var code: int = await _probe_health()
		_exit(code)
		return
	var smoke := arguments.has("--smoke")
	started_msec = Time.get_ticks_msec()
	var problems := ServerConfig.validate()
	for problem: String in problems:
		if ServerConfig.is_production():
			ServerLog.error("configuration problem", {"problem": problem})
		else:
			ServerLog.warn("configuration problem (ignored outside production)", {"problem": problem})
	if not problems.is_empty() and ServerConfig.is_production():
		_exit(2)
		return
	for warning: String in ServerConfig.security_warnings():
		if ServerConfig.is_production():
			ServerLog.error("insecure configuration", {"problem": warning})
		else:
			ServerLog.warn("insecure configuration (development)", {"problem": warning})

	Engine.physics_ticks_per_second = ServerConfig.tick_rate
	ServerLog.info("starting SpaceTime VR server", ServerConfig.describe())

	var bind_address: String = "127.0.0.1" if smoke else ServerConfig.bind_address
	var http_port: int = 0 if smoke else ServerConfig.http_port
	var game_port: int = 0 if smoke else ServerConfig.game_port
	var err := http_api.start(bind_address, http_port, ServerConfig.max_http_connections)
	if err != OK:
		ServerLog.error("cannot listen for HTTP", {"port": ServerConfig.http_port, "error": error_string(err)})
		_exit(1)
		return
	err = transport.start(bind_address, game_port, ServerConfig.max_players_per_server,
		ServerConfig.tls_cert_path, ServerConfig.tls_key_path)
	if err != OK:
		ServerLog.error("cannot start game transport", {"port": ServerConfig.game_port, "error": error_string(err)})
		_exit(1)
		return

	transport.vr_monitor = vr_monitor
	vr_monitor.quality_hint.connect(transport.send_quality_hint)
	ShardRouter.handoff_completed.connect(transport.broadcast_handoff)
	SessionManager.drain_started.connect(transport.notify_draining)
	SessionManager.drain_deadline_reached.connect(transport.disconnect_all_draining)
	housekeeping.timeout.connect(_on_housekeeping)
	Metrics.set_gauge("spacetime_players_capacity", ServerConfig.max_players_per_server)

	last_tick_msec = Time.get_ticks_msec()
	_second_started_msec = last_tick_msec
	print("SpaceTime VR server %s ready" % ServerConfig.version)
	if smoke:
		_shutdown()
		_exit(0)


func _physics_process(_delta: float) -> void:
	if _stopping:
		return
	var tick_start := Time.get_ticks_usec()
	transport.service()
	SessionManager.tick()
	ShardRouter.tick()
	Metrics.observe("spacetime_server_tick_duration_seconds", (Time.get_ticks_usec() - tick_start) / 1000000.0)
	last_tick_msec = Time.get_ticks_msec()
	_ticks_this_second += 1
	if last_tick_msec - _second_started_msec >= 1000:
		Metrics.set_gauge("spacetime_server_fps", _ticks_this_second * 1000.0 / (last_tick_msec - _second_started_msec))
		_ticks_this_second = 0
		_second_started_msec = last_tick_msec


func _on_housekeeping() -> void:
	SessionManager.heartbeat()
	_since_volume_check += housekeeping.wait_time
	if _since_volume_check >= DATA_VOLUME_CHECK_SECONDS:
		_since_volume_check = 0.0
		_update_data_volume_metrics()


## Size and free space of SERVER_DATA_DIR (the spacetime-vr-data volume), via
## `df -P -k`, which both coreutils and busybox understand.
func _update_data_volume_metrics() -> void:
	var dir: String = ServerConfig.server_data_dir
	if dir.is_empty() or not DirAccess.dir_exists_absolute(dir):
		return
	var output: Array = []
	if OS.execute("df", PackedStringArray(["-P", "-k", dir]), output) != 0 or output.is_empty():
		return
	var lines := str(output[0]).strip_edges().split("\n")
	if lines.size() < 2:
		return
	var columns := PackedStringArray()
	for column: String in lines[lines.size() - 1].split(" ", false):
		columns.append(column)
	if columns.size() < 4 or not columns[1].is_valid_int() or not columns[3].is_valid_int():
		return
	Metrics.set_gauge("spacetime_data_volume_size_bytes", columns[1].to_float() * 1024.0)
	Metrics.set_gauge("spacetime_data_volume_available_bytes", columns[3].to_float() * 1024.0)


func _notification(what: int) -> void:
	if what == NOTIFICATION_WM_CLOSE_REQUEST:
		_shutdown()


func _shutdown() -> void:
	if _stopping:
		return
	_stopping = true
	ServerLog.info("shutting down", {"players": transport.connected_players()})
	transport.stop()
	http_api.stop()
	Database.close_all()


## GET /healthz on the loopback: 0 when it answers 200 within the time limit, else 1.
func _probe_health() -> int:
	var client := HTTPClient.new()
	if client.connect_to_host("127.0.0.1", ServerConfig.http_port) != OK:
		return 1
	var deadline := Time.get_ticks_msec() + HEALTHCHECK_TIMEOUT_MSEC
	while client.get_status() in [HTTPClient.STATUS_RESOLVING, HTTPClient.STATUS_CONNECTING] and Time.get_ticks_msec() < deadline:
		client.poll()
		await get_tree().process_frame
	if client.get_status() != HTTPClient.STATUS_CONNECTED:
		return 1
	if client.request(HTTPClient.METHOD_GET, "/healthz", PackedStringArray()) != OK:
		return 1
	while client.get_status() == HTTPClient.STATUS_REQUESTING and Time.get_ticks_msec() < deadline:
		client.poll()
		await get_tree().process_frame
	return 0 if client.has_response() and client.get_response_code() == 200 else 1


func _exit(code: int) -> void:
	_stopping = true
	get_tree().quit(code)
