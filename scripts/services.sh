#!/usr/bin/env bash
# Local servers for the cluster profile, started on loopback for development and CI.
#
#   scripts/services.sh up [SERVICE...]      start (idempotent), wait until each answers
#   scripts/services.sh down [SERVICE...]    stop what this script started
#   scripts/services.sh status [SERVICE...]  one line per service; exit 3 if any is not up
#   scripts/services.sh env [SERVICE...]     export lines, for: eval "$(scripts/services.sh env)"
#
# Everything lives under $PROJECT/var/services/ (data, logs, <service>.pid).
# SERVICES_PG_PORT / SERVICES_REDIS_PORT move the ports (default 55432 / 56379).
# Adding a service: write <name>_up, <name>_down, <name>_status and <name>_env below,
# and add <name> to SERVICES. Nothing else in this file needs to change.
# opensearch (HTTP 59200, moved by SERVICES_OPENSEARCH_PORT; see docs/opensearch.md) is in
# the default set: the cluster profile's search tests run against it (SEARCH_URL).
# localstripe (127.0.0.1:58420, moved by SERVICES_LOCALSTRIPE_PORT) fakes Stripe for the
# payments tests (docs/payments.md).
# OPTIONAL_SERVICES would be known but run only when named (none at the moment).
set -euo pipefail

PROJECT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
STATE="$PROJECT/var/services"
TIMEOUT="${SERVICES_TIMEOUT:-60}" # seconds to wait for a server to answer

# Start order; `down` walks it backwards.
SERVICES=(postgres redis opensearch localstripe)
# Known but left out of the default set: started only when named.
OPTIONAL_SERVICES=()

# The ports can be moved, e.g. to run a second checkout's servers beside the first.
PG_PORT="${SERVICES_PG_PORT:-55432}"
PG_USER=marketplace
PG_PASSWORD=marketplace
PG_DB=marketplace
REDIS_PORT="${SERVICES_REDIS_PORT:-56379}"

export DEBIAN_FRONTEND=noninteractive

log() { printf '[services] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# apt-get update once per run, and only if something has to be installed.
APT_UPDATED=0
apt_install() {
	command -v apt-get >/dev/null || die "cannot install $* (no apt-get); install it by hand"
	local apt_log="$STATE/apt.log"
	mkdir -p "$STATE"
	if [ "$APT_UPDATED" = 0 ]; then
		log "apt-get update (log: $apt_log)"
		apt-get update >>"$apt_log" 2>&1 || {
			tail -n 20 "$apt_log" >&2
			die "apt-get update failed"
		}
		APT_UPDATED=1
	fi
	log "apt-get install $* (log: $apt_log)"
	apt-get install -y --no-install-recommends "$@" >>"$apt_log" 2>&1 || {
		tail -n 20 "$apt_log" >&2
		die "apt-get install $* failed"
	}
}

# wait_until SECONDS CMD... : retry CMD until it succeeds or SECONDS pass.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
# pid_is PID NAME: alive and running program NAME (a stale pid file may name a reused
# pid). A zombie does not count: where nothing reaps orphans promptly, a killed server
# lingers as one for a while.
pid_is() {
	pid_alive "$1" || return 1
	local stat comm
	read -r stat comm < <(ps -o stat= -o comm= -p "$1" 2>/dev/null) || return 1
	[ "${stat:0:1}" != Z ] && [ "$comm" = "$2" ]
}
pid_gone() {
	pid_alive "$1" || return 0
	[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_of() { [ -f "$STATE/$1.pid" ] && head -n1 "$STATE/$1.pid" || true; }

# A server process that is not root must be able to walk down to its files.
# Adds only the search (x) bit, never read, to ancestors that lack it.
make_traversable() {
	local dir="$1" mode
	runuser -u postgres -- test -x "$dir" 2>/dev/null && return 0
	while [ "$dir" != / ]; do
		mode="$(stat -c %A "$dir")"
		case "${mode:9:1}" in
		x | t) ;;
		*)
			log "chmod o+x $dir (so the postgres user can reach its data directory)"
			chmod o+x "$dir"
			;;
		esac
		dir="$(dirname "$dir")"
	done
	runuser -u postgres -- test -x "$1" || die "the postgres user cannot reach $1"
}

# --------------------------------------------------------------------------- PostgreSQL

PG_HOME="$STATE/postgres"
PG_DATA="$PG_HOME/data"
PG_LOG="$PG_HOME/postgres.log"
PG_BIN=""
PG_SOCKET_DIR=""

pg_find_bin() {
	local d
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
		if [ -x "$d/postgres" ] && [ -x "$d/initdb" ]; then
			PG_BIN="$d"
			return 0
		fi
	done
	return 1
}

pg_ensure_installed() {
	pg_find_bin && return 0
	apt_install postgresql
	pg_find_bin || die "postgresql installed but no /usr/lib/postgresql/*/bin found"
}

pg_ensure_user() {
	id -u postgres >/dev/null 2>&1 && return 0
	log "creating system user postgres"
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin postgres
}

# Unix socket paths are limited to 107 bytes; a deep checkout would overflow them,
# so fall back to a short per-checkout directory under /tmp.
pg_socket_dir() {
	local dir="$PG_HOME/run"
	if [ $((${#dir} + 16)) -gt 100 ]; then
		dir="/tmp/marketplace-pg-$(printf '%s' "$PROJECT" | md5sum | cut -c1-10)"
	fi
	printf '%s' "$dir"
}

as_postgres() { (cd / && runuser -u postgres -- "$@"); }

pg_answers() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }

# The server is ours when postgres runs on our data directory; postmaster.pid is the
# authority, and $STATE/postgres.pid mirrors it for people and tools looking in var/services.
pg_ours() {
	local pid
	[ -f "$PG_DATA/postmaster.pid" ] || return 1
	pid="$(head -n1 "$PG_DATA/postmaster.pid")"
	pid_is "$pid" postgres || return 1
	[ "$(pid_of postgres)" = "$pid" ] || echo "$pid" >"$STATE/postgres.pid"
}

pg_write_config() {
	cat >"$PG_DATA/marketplace.conf" <<EOF
# Written by scripts/services.sh on every 'up'. A throwaway dev/test server:
# durability is traded for speed.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
	chown postgres:postgres "$PG_DATA/marketplace.conf"
	grep -q "^include_if_exists = 'marketplace.conf'" "$PG_DATA/postgresql.conf" ||
		echo "include_if_exists = 'marketplace.conf'" >>"$PG_DATA/postgresql.conf"
}

pg_initdb() {
	log "postgres: initdb in $PG_DATA"
	# The superuser has no password: it is reached only through the socket directory,
	# which is private to postgres and root. Over TCP only password logins work.
	as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --encoding=UTF8 --no-locale \
		--auth-local=trust --auth-host=scram-sha-256 >"$PG_HOME/initdb.log" 2>&1 ||
		{
			cat "$PG_HOME/initdb.log" >&2
			die "initdb failed (log: $PG_HOME/initdb.log)"
		}
}

pg_bootstrap_sql() {
	psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres <<EOF
SELECT format('CREATE ROLE %I LOGIN', '$PG_USER')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER') \\gexec
ALTER ROLE "$PG_USER" WITH LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
SELECT format('CREATE DATABASE %I OWNER %I', '$PG_DB', '$PG_USER')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$PG_DB') \\gexec
EOF
}

postgres_up() {
	if pg_ours && pg_answers; then
		log "postgres: already running (pid $(pid_of postgres)) on 127.0.0.1:$PG_PORT"
		return 0
	fi
	if pg_answers; then
		# Another checkout's server, or a system one: usable if our role can log in.
		if PGCONNECT_TIMEOUT=5 PGPASSWORD="$PG_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" \
			-c 'select 1' >/dev/null 2>&1; then
			log "postgres: 127.0.0.1:$PG_PORT is served by a server this checkout did not start; using it"
			return 0
		fi
		die "postgres: port $PG_PORT is taken by a server where $PG_USER cannot log in"
	fi
	port_busy "$PG_PORT" && die "postgres: port $PG_PORT is taken by something that is not PostgreSQL"
	pg_ensure_installed
	pg_ensure_user
	export PATH="$PG_BIN:$PATH"
	PG_SOCKET_DIR="$(pg_socket_dir)"

	mkdir -p "$PG_HOME" "$PG_SOCKET_DIR"
	chown postgres:postgres "$PG_HOME" "$PG_SOCKET_DIR"
	chmod 700 "$PG_HOME" "$PG_SOCKET_DIR"
	make_traversable "$STATE"
	[ -f "$PG_DATA/PG_VERSION" ] || pg_initdb
	pg_write_config

	# postgres refuses to start while the pid in a stale postmaster.pid still exists,
	# even as a zombie of a killed server: give the reaper a moment.
	if [ -f "$PG_DATA/postmaster.pid" ]; then
		wait_until 10 pid_gone "$(head -n1 "$PG_DATA/postmaster.pid")" || true
	fi
	log "postgres: starting on 127.0.0.1:$PG_PORT ($PG_BIN)"
	rm -f "$STATE/postgres.pid"
	if ! as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" start >/dev/null; then
		tail -n 30 "$PG_LOG" >&2 || true
		die "postgres did not start (log: $PG_LOG)"
	fi
	wait_until "$TIMEOUT" pg_answers || die "postgres does not answer on port $PG_PORT (log: $PG_LOG)"
	head -n1 "$PG_DATA/postmaster.pid" >"$STATE/postgres.pid"
	pg_bootstrap_sql
	log "postgres: started (pid $(pid_of postgres)), role and database '$PG_DB' ready"
}

postgres_down() {
	if ! pg_ours; then
		rm -f "$STATE/postgres.pid"
		log "postgres: not running from this checkout"
		return 0
	fi
	log "postgres: stopping (pid $(pid_of postgres))"
	as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" stop >/dev/null
	rm -f "$STATE/postgres.pid"
}

postgres_status() {
	if pg_ours && pg_answers; then
		echo "postgres  up    127.0.0.1:$PG_PORT  pid $(pid_of postgres)  data $PG_DATA"
	elif pg_answers; then
		echo "postgres  up    127.0.0.1:$PG_PORT  (not started by this checkout)"
	elif pg_ours; then
		echo "postgres  DOWN  pid $(pid_of postgres) is alive but does not answer (log: $PG_LOG)"
		return 1
	else
		echo "postgres  down"
		return 1
	fi
}

postgres_env() {
	echo "export DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
}

# --------------------------------------------------------------------------- Redis

REDIS_HOME="$STATE/redis"

redis_answers() { [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
redis_ours() { pid_is "$(pid_of redis)" redis-server; }

redis_up() {
	if redis_ours && redis_answers; then
		log "redis: already running (pid $(pid_of redis)) on 127.0.0.1:$REDIS_PORT"
		return 0
	fi
	if command -v redis-cli >/dev/null && redis_answers; then
		log "redis: 127.0.0.1:$REDIS_PORT is served by a server this checkout did not start; using it"
		return 0
	fi
	port_busy "$REDIS_PORT" && die "redis: port $REDIS_PORT is taken by something that does not answer PING"
	if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
		apt_install redis-server
	fi
	mkdir -p "$REDIS_HOME"
	rm -f "$STATE/redis.pid"
	log "redis: starting on 127.0.0.1:$REDIS_PORT"
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
		--dir "$REDIS_HOME" --pidfile "$STATE/redis.pid" --logfile "$REDIS_HOME/redis.log" \
		--save '' --appendonly no ||
		die "redis-server did not start (log: $REDIS_HOME/redis.log)"
	wait_until "$TIMEOUT" redis_answers || die "redis does not answer on port $REDIS_PORT (log: $REDIS_HOME/redis.log)"
	wait_until 5 test -s "$STATE/redis.pid" || die "redis wrote no pid file"
	log "redis: started (pid $(pid_of redis))"
}

redis_down() {
	local pid
	pid="$(pid_of redis)"
	if ! pid_is "$pid" redis-server; then
		rm -f "$STATE/redis.pid"
		log "redis: not running from this checkout"
		return 0
	fi
	log "redis: stopping (pid $pid)"
	kill -TERM "$pid"
	wait_until "$TIMEOUT" pid_gone "$pid" || die "redis (pid $pid) did not stop"
	rm -f "$STATE/redis.pid"
}

redis_status() {
	if redis_ours && redis_answers; then
		echo "redis     up    127.0.0.1:$REDIS_PORT  pid $(pid_of redis)"
	elif command -v redis-cli >/dev/null && redis_answers; then
		echo "redis     up    127.0.0.1:$REDIS_PORT  (not started by this checkout)"
	elif redis_ours; then
		echo "redis     DOWN  pid $(pid_of redis) is alive but does not answer (log: $REDIS_HOME/redis.log)"
		return 1
	else
		echo "redis     down"
		return 1
	fi
}

redis_env() {
	echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

# --------------------------------------------------------------------------- OpenSearch
# One node assembled from Maven Central jars by scripts/opensearch (see docs/opensearch.md).
# In the default set since the cluster search backend (search/backends/opensearch.py) uses
# it. Every start wipes the node's data: it is a clean node for tests, not a store.

OS_PORT="${SERVICES_OPENSEARCH_PORT:-59200}"
OS_TRANSPORT_PORT="${SERVICES_OPENSEARCH_TRANSPORT_PORT:-59300}"
OS_HEAP="${SERVICES_OPENSEARCH_HEAP:-512m}"
OS_SRC="$PROJECT/scripts/opensearch"
OS_HOME="$STATE/opensearch"
OS_NODE="$OS_HOME/node" # path.home: config, data, logs
OS_LOG="$OS_HOME/opensearch.log"
OS_BUILD_LOG="$OS_HOME/build.log"
OS_MAIN=marketplace.opensearch.Launcher

# Answers as the marketplace-test node (not through a pipe to grep -q: with pipefail,
# curl's SIGPIPE would fail it now and then).
os_answers() {
	local body
	body="$(curl -fsS -m 3 "http://127.0.0.1:$OS_PORT/" 2>/dev/null)" || return 1
	[[ $body == *'"cluster_name" : "marketplace-test"'* ]]
}
os_healthy() { curl -fsS -m 35 "http://127.0.0.1:$OS_PORT/_cluster/health?wait_for_status=yellow&timeout=30s" >/dev/null 2>&1; }
# Ours: a java process running the launcher on this checkout's node directory.
os_ours() {
	local pid
	pid="$(pid_of opensearch)"
	pid_is "$pid" java || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$OS_MAIN $OS_NODE "
}

# Build the launcher when target/ is missing or older than its sources (Maven's own
# repository, ~/.m2, caches the jars).
os_build() {
	local stamp="$OS_SRC/target/.built"
	if [ -f "$stamp" ] && [ -z "$(find "$OS_SRC/pom.xml" "$OS_SRC/src" -newer "$stamp" -print -quit)" ]; then
		return 0
	fi
	command -v java >/dev/null || apt_install openjdk-17-jdk-headless
	command -v mvn >/dev/null || apt_install maven
	log "opensearch: building the launcher with Maven (log: $OS_BUILD_LOG)"
	rm -rf "$OS_SRC/target"
	mvn -B -q -f "$OS_SRC/pom.xml" package dependency:copy-dependencies >"$OS_BUILD_LOG" 2>&1 || {
		tail -n 30 "$OS_BUILD_LOG" >&2
		die "opensearch: the Maven build failed (log: $OS_BUILD_LOG)"
	}
	touch "$stamp"
}

# Healthy, or fail early when the JVM has died.
os_wait() {
	local pid="$1" deadline=$((SECONDS + TIMEOUT))
	until os_answers && os_healthy; do
		pid_is "$pid" java || return 1
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.3
	done
}

opensearch_up() {
	if os_ours && os_answers; then
		log "opensearch: already running (pid $(pid_of opensearch)) on 127.0.0.1:$OS_PORT"
		return 0
	fi
	command -v curl >/dev/null || apt_install curl
	if os_answers; then
		log "opensearch: 127.0.0.1:$OS_PORT is served by a node this checkout did not start; using it"
		return 0
	fi
	port_busy "$OS_PORT" && die "opensearch: port $OS_PORT is taken by something that is not the marketplace-test node"
	port_busy "$OS_TRANSPORT_PORT" && die "opensearch: transport port $OS_TRANSPORT_PORT is taken"
	mkdir -p "$OS_HOME"
	os_build

	# A node of ours that does not answer: stop it before wiping its data.
	if os_ours; then opensearch_down; fi
	rm -rf "$OS_NODE" "$STATE/opensearch.pid"
	mkdir -p "$OS_NODE"
	log "opensearch: starting on 127.0.0.1:$OS_PORT (transport $OS_TRANSPORT_PORT, heap $OS_HEAP)"
	# setsid: the node must outlive this script and not get the caller's Ctrl-C.
	(
		cd "$OS_HOME"
		exec setsid java -Xms"$OS_HEAP" -Xmx"$OS_HEAP" -XX:+ExitOnOutOfMemoryError \
			-Dfile.encoding=UTF-8 -Djava.locale.providers=SPI,COMPAT \
			-Dlauncher.pidfile="$STATE/opensearch.pid" \
			-cp "$OS_SRC/target/classes:$OS_SRC/target/dependency/*" \
			"$OS_MAIN" "$OS_NODE" "http.port=$OS_PORT" "transport.port=$OS_TRANSPORT_PORT" \
			</dev/null >"$OS_LOG" 2>&1
	) &
	wait_until 10 test -s "$STATE/opensearch.pid" || die "opensearch: the launcher wrote no pid file (log: $OS_LOG)"
	if ! os_wait "$(pid_of opensearch)"; then
		tail -n 30 "$OS_LOG" >&2 || true
		die "opensearch: the node did not become healthy within ${TIMEOUT}s (log: $OS_LOG)"
	fi
	log "opensearch: started (pid $(pid_of opensearch))"
}

opensearch_down() {
	local pid
	pid="$(pid_of opensearch)"
	if ! os_ours; then
		rm -f "$STATE/opensearch.pid"
		log "opensearch: not running from this checkout"
		return 0
	fi
	log "opensearch: stopping (pid $pid)"
	kill -TERM "$pid"
	if ! wait_until "$TIMEOUT" pid_gone "$pid"; then
		log "opensearch: pid $pid ignored SIGTERM for ${TIMEOUT}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		wait_until 10 pid_gone "$pid" || die "opensearch (pid $pid) did not stop"
	fi
	rm -f "$STATE/opensearch.pid"
}

opensearch_status() {
	if os_ours && os_answers; then
		echo "opensearch  up    127.0.0.1:$OS_PORT  pid $(pid_of opensearch)  home $OS_NODE"
	elif os_answers; then
		echo "opensearch  up    127.0.0.1:$OS_PORT  (not started by this checkout)"
	elif os_ours; then
		echo "opensearch  DOWN  pid $(pid_of opensearch) is alive but does not answer (log: $OS_LOG)"
		return 1
	else
		echo "opensearch  down"
		return 1
	fi
}

opensearch_env() {
	echo "export SEARCH_URL=http://127.0.0.1:$OS_PORT"
}

# --------------------------------------------------------------------------- localstripe
# A stateful fake of the Stripe API (PyPI package localstripe, installed in .venv from
# requirements.txt) for the payments tests and development. localstripe's own entry point binds
# every interface; scripts/localstripe_server.py serves the same app on 127.0.0.1 only, with its
# store in memory (empty at every start). See docs/payments.md.

LS_PORT="${SERVICES_LOCALSTRIPE_PORT:-58420}"
LS_HOME="$STATE/localstripe"
LS_LOG="$LS_HOME/localstripe.log"
LS_SCRIPT="$PROJECT/scripts/localstripe_server.py"
LS_PYTHON="$PROJECT/.venv/bin/python"

# Answers as localstripe: its Stripe.js stand-in names itself.
ls_answers() {
	local body
	body="$(curl -fsS -m 3 "http://127.0.0.1:$LS_PORT/js.stripe.com/v3/" 2>/dev/null)" || return 1
	[[ $body == *localstripe* ]]
}
ls_ours() {
	local pid
	pid="$(pid_of localstripe)"
	pid_alive "$pid" || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$LS_SCRIPT --host 127.0.0.1 --port $LS_PORT "
}

localstripe_up() {
	if ls_ours && ls_answers; then
		log "localstripe: already running (pid $(pid_of localstripe)) on 127.0.0.1:$LS_PORT"
		return 0
	fi
	command -v curl >/dev/null || apt_install curl
	if ls_answers; then
		log "localstripe: 127.0.0.1:$LS_PORT is served by a localstripe this checkout did not start; using it"
		return 0
	fi
	port_busy "$LS_PORT" && die "localstripe: port $LS_PORT is taken by something that is not localstripe"
	[ -x "$LS_PYTHON" ] || die "localstripe: $LS_PYTHON is missing (run 'make venv' first)"
	"$LS_PYTHON" -c 'import localstripe' 2>/dev/null ||
		die "localstripe: the package is not installed in .venv (pip install -r requirements.txt)"
	mkdir -p "$LS_HOME"
	rm -f "$STATE/localstripe.pid"
	log "localstripe: starting on 127.0.0.1:$LS_PORT"
	# setsid: the server must outlive this script and not get the caller's Ctrl-C.
	(
		cd "$LS_HOME"
		exec setsid "$LS_PYTHON" "$LS_SCRIPT" --host 127.0.0.1 --port "$LS_PORT" \
			--pidfile "$STATE/localstripe.pid" </dev/null >"$LS_LOG" 2>&1
	) &
	wait_until 10 test -s "$STATE/localstripe.pid" || die "localstripe wrote no pid file (log: $LS_LOG)"
	if ! wait_until "$TIMEOUT" ls_answers; then
		tail -n 20 "$LS_LOG" >&2 || true
		die "localstripe does not answer on port $LS_PORT (log: $LS_LOG)"
	fi
	log "localstripe: started (pid $(pid_of localstripe))"
}

localstripe_down() {
	local pid
	pid="$(pid_of localstripe)"
	if ! ls_ours; then
		rm -f "$STATE/localstripe.pid"
		log "localstripe: not running from this checkout"
		return 0
	fi
	log "localstripe: stopping (pid $pid)"
	kill -TERM "$pid"
	wait_until "$TIMEOUT" pid_gone "$pid" || die "localstripe (pid $pid) did not stop"
	rm -f "$STATE/localstripe.pid"
}

localstripe_status() {
	if ls_ours && ls_answers; then
		echo "localstripe  up    127.0.0.1:$LS_PORT  pid $(pid_of localstripe)"
	elif ls_answers; then
		echo "localstripe  up    127.0.0.1:$LS_PORT  (not started by this checkout)"
	elif ls_ours; then
		echo "localstripe  DOWN  pid $(pid_of localstripe) is alive but does not answer (log: $LS_LOG)"
		return 1
	else
		echo "localstripe  down"
		return 1
	fi
}

# Test keys for the fake server; the real ones come from the deployment's environment.
localstripe_env() {
	echo "export STRIPE_API_BASE=http://127.0.0.1:$LS_PORT"
	echo "export STRIPE_JS_URL=http://127.0.0.1:$LS_PORT/js.stripe.com/v3/"
	echo "export STRIPE_SECRET_KEY=sk_test_localstripe"
	echo "export STRIPE_PUBLISHABLE_KEY=pk_test_localstripe"
	echo "export STRIPE_WEBHOOK_SECRET=whsec_localstripe"
}

# --------------------------------------------------------------------------- dispatch

# Prefer the newest server's client tools (pg_isready, psql) when they are installed.
pg_find_bin && export PATH="$PG_BIN:$PATH" || true

usage() {
	local known=("${SERVICES[@]}" "${OPTIONAL_SERVICES[@]}")
	echo "usage: $0 {up|down|status|env} [$(
		IFS='|'
		echo "${known[*]}"
	)...]" >&2
	exit 2
}

main() {
	[ $# -ge 1 ] || usage
	local cmd="$1" svc rc=0
	shift
	local selected=("$@")
	[ ${#selected[@]} -gt 0 ] || selected=("${SERVICES[@]}")
	for svc in "${selected[@]}"; do
		[[ " ${SERVICES[*]} ${OPTIONAL_SERVICES[*]} " == *" $svc "* ]] ||
			die "unknown service '$svc' (known: ${SERVICES[*]} ${OPTIONAL_SERVICES[*]})"
	done

	case "$cmd" in
	up)
		[ "$(id -u)" = 0 ] || die "run as root (the servers are started as their own system users)"
		mkdir -p "$STATE"
		for svc in "${selected[@]}"; do "${svc}_up"; done
		;;
	down)
		local i
		# Unnamed, an optional service goes down too when this checkout started it (make clean).
		if [ $# -eq 0 ]; then
			for svc in "${OPTIONAL_SERVICES[@]}"; do
				if [ -f "$STATE/$svc.pid" ]; then selected+=("$svc"); fi
			done
		fi
		for ((i = ${#selected[@]} - 1; i >= 0; i--)); do "${selected[i]}_down"; done
		;;
	status)
		for svc in "${selected[@]}"; do "${svc}_status" || rc=3; done
		return "$rc"
		;;
	env)
		for svc in "${selected[@]}"; do "${svc}_env"; done
		;;
	*) usage ;;
	esac
}

main "$@"
