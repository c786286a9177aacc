#!/usr/bin/env bash
# Throwaway database servers for erpsync's test suite.
#
#   scripts/testdb.sh start   start fresh, empty servers (replacing any left over from an earlier run)
#   scripts/testdb.sh stop    stop them and delete their data; a no-op when nothing is running
#   scripts/testdb.sh env     print `export ...` lines for the tests; use: eval "$(scripts/testdb.sh env)"
#
# Servers listen on 127.0.0.1 only, with trust auth and durability switched off: they hold
# nothing but test data and must never be used for anything else.
#
# Settings (environment):
#   ERPSYNC_TEST_PG_PORT      TCP port of the PostgreSQL server (default 54329)
#   ERPSYNC_TESTDB_OSUSER     OS account that runs the servers when this script runs as root
#                             (default: `postgres` if it exists, else a system user `erpsync-test`)
#   ERPSYNC_TESTDB_TIMEOUT    seconds to wait for a server to accept connections (default 60)
#
# Layout. PostgreSQL refuses to run as root, so as root the server runs under an unprivileged
# account. That account must be able to reach its data directory and socket, but the repository
# may sit below a directory it cannot traverse (e.g. /root is mode 0700). So the cluster lives in
# a runtime directory under ${TMPDIR:-/tmp} (or /tmp when the server account cannot reach TMPDIR):
#
#   <runtime>/data      the cluster (owned by the server account, mode 0700)
#   <runtime>/sock      its unix socket directory (a short path: sockets are limited to ~100 bytes)
#   <runtime>/server.log
#
# and <repo>/.testdb/pg is a symlink to <runtime>, which is how `stop` finds it again. The
# runtime directory's name carries a hash of the repository path, so each checkout has its own
# and a server orphaned by a deleted .testdb/ is still found and stopped by the next run.
# Checkouts and concurrent runs share the default port, though: run one at a time, or give each
# its own ERPSYNC_TEST_PG_PORT (the same value for `start`, `env` and `stop`).
# The same layout is used when not root, so there is one code path to test.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# Keyed by the port too, so runs on different ERPSYNC_TEST_PG_PORTs never stop each other.
INSTANCE=${ERPSYNC_TEST_PG_PORT:-54329}
STATE_DIR="$REPO/.testdb/$INSTANCE"
REPO_HASH=$(printf '%s:%s' "$REPO" "$INSTANCE" | sha256sum | cut -c1-12)
TIMEOUT=${ERPSYNC_TESTDB_TIMEOUT:-60}

# Servers that `start`, `stop` and `env` handle, in start order. Each NAME here has three
# functions below: NAME_start, NAME_stop and NAME_env. To add one (e.g. MariaDB for the MySQL
# adapters), write those three functions in a section of their own and add NAME to this list;
# the generic helpers (log, die, server_user, as_owner_of, new_runtime_dir, ...) are shared.
SERVERS=(pg)

# --------------------------------------------------------------------------------------------
# Generic helpers
# --------------------------------------------------------------------------------------------

log() { printf 'testdb: %s\n' "$*" >&2; }
die() {
	printf 'testdb: error: %s\n' "$*" >&2
	exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# The OS account that runs servers: the caller itself, or when root an unprivileged account.
SERVER_USER=
server_user() {
	if [ -n "$SERVER_USER" ]; then
		return
	fi
	if ! is_root; then
		SERVER_USER=$(id -un)
	elif [ -n "${ERPSYNC_TESTDB_OSUSER:-}" ]; then
		SERVER_USER=$ERPSYNC_TESTDB_OSUSER
		id -u "$SERVER_USER" >/dev/null 2>&1 || die "ERPSYNC_TESTDB_OSUSER=$SERVER_USER: no such user"
	elif id -u postgres >/dev/null 2>&1; then
		SERVER_USER=postgres
	else
		SERVER_USER=erpsync-test
		if ! id -u "$SERVER_USER" >/dev/null 2>&1; then
			log "creating system user $SERVER_USER to run test servers"
			useradd --system --user-group --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin "$SERVER_USER"
		fi
	fi
}

# Run a command as the account that owns directory $1 (servers refuse to be driven as root).
# The working directory is / so that the account never trips over an unreadable cwd.
as_owner_of() {
	local dir=$1 owner
	shift
	owner=$(stat -c %U "$dir")
	if is_root && [ "$owner" != root ]; then
		(cd / && runuser -u "$owner" -- "$@")
	else
		(cd / && "$@")
	fi
}

# Can the server account reach directory $1 (search permission on the whole path)?
server_user_reaches() {
	if is_root; then
		runuser -u "$SERVER_USER" -- test -x "$1" -a -d "$1"
	else
		test -x "$1" -a -d "$1" -a -w "$1"
	fi
}

# Runtime directories that may hold server NAME: the one recorded in .testdb/NAME by an earlier
# run, and the ones a run would choose (below TMPDIR or /tmp). `stop` looks in all of them.
runtime_dir_candidates() {
	local name=$1 parent
	if [ -L "$STATE_DIR/$name" ]; then
		readlink "$STATE_DIR/$name"
	fi
	for parent in "${TMPDIR:-/tmp}" /tmp; do
		printf '%s/erpsync-testdb-%s-%s\n' "${parent%/}" "$REPO_HASH" "$name"
	done
}

# Delete runtime directory $1, refusing anything that does not look like one of ours (the
# record in .testdb/ is a plain symlink that anyone could have pointed elsewhere).
remove_runtime_dir() {
	case $1 in
	*/erpsync-testdb-*) rm -rf -- "$1" ;;
	*) die "refusing to delete $1: not a test server directory" ;;
	esac
}

# Make an empty runtime directory for server NAME, owned by the server account, record it in
# .testdb/NAME and set RUNTIME_DIR to it.
RUNTIME_DIR=
new_runtime_dir() {
	local name=$1 parent=${TMPDIR:-/tmp}
	server_user
	if ! server_user_reaches "$parent"; then
		parent=/tmp
	fi
	RUNTIME_DIR=${parent%/}/erpsync-testdb-$REPO_HASH-$name
	remove_runtime_dir "$RUNTIME_DIR"
	mkdir -m 0700 -- "$RUNTIME_DIR"
	if is_root; then
		chown -- "$SERVER_USER:" "$RUNTIME_DIR"
	fi
	mkdir -p -- "$STATE_DIR"
	rm -rf -- "${STATE_DIR:?}/$name"
	ln -s -- "$RUNTIME_DIR" "$STATE_DIR/$name"
}

# Delete every runtime directory of server NAME and its record.
forget_runtime_dirs() {
	local name=$1 dir dirs
	mapfile -t dirs < <(runtime_dir_candidates "$name")
	for dir in "${dirs[@]}"; do
		if [ -e "$dir" ]; then
			remove_runtime_dir "$dir"
		fi
	done
	rm -rf -- "${STATE_DIR:?}/$name"
	rmdir -- "$STATE_DIR" 2>/dev/null || true
}

# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------

PG_PORT=${ERPSYNC_TEST_PG_PORT:-54329}
PG_HOST=127.0.0.1
PG_SUPERUSER=postgres
PG_DATABASE=erpsync_test
PG_BINDIR=

# Find the directory holding initdb, pg_ctl, pg_isready and createdb: the one initdb on PATH
# really lives in, else Debian's /usr/lib/postgresql/<newest>/bin; as root on Debian/Ubuntu
# with neither, install the distribution's server package.
# With --no-install, return 1 instead of installing.
pg_find_bindir() {
	local initdb candidate
	if [ -n "$PG_BINDIR" ]; then
		return
	fi
	if initdb=$(command -v initdb) && [ -x "$(dirname "$(readlink -f "$initdb")")/pg_ctl" ]; then
		PG_BINDIR=$(dirname "$(readlink -f "$initdb")")
		return
	fi
	candidate=$(pg_newest_debian_bindir)
	if [ -z "$candidate" ] && [ "${1:-}" = --no-install ]; then
		return 1
	fi
	if [ -z "$candidate" ] && is_root && command -v apt-get >/dev/null 2>&1; then
		log "PostgreSQL server binaries not found; installing the distribution's postgresql package"
		DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2
		candidate=$(pg_newest_debian_bindir)
	fi
	[ -n "$candidate" ] ||
		die "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; install PostgreSQL"
	PG_BINDIR=$candidate
}
pg_newest_debian_bindir() {
	local dir
	for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
		if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
			printf '%s\n' "$dir"
			return
		fi
	done
}
# A client tool: from the server's bin directory, else from PATH.
pg_tool() {
	pg_find_bindir
	if [ -x "$PG_BINDIR/$1" ]; then
		printf '%s\n' "$PG_BINDIR/$1"
	else
		command -v "$1" || die "PostgreSQL tool $1 not found"
	fi
}

# Exit status of pg_isready: 0 accepting, 1 rejecting (starting up), 2 no response.
pg_ready_status() {
	local rc=0
	"$(pg_tool pg_isready)" -q -h "$PG_HOST" -p "$PG_PORT" -t 2 || rc=$?
	return "$rc"
}

# Is the postmaster of data directory $1 alive? (A SIGKILLed one may linger as a zombie, which
# `pg_ctl status` still counts as running, and a stale postmaster.pid may name no process.)
pg_postmaster_alive() {
	local pid state
	pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	if [ -r "/proc/$pid/stat" ]; then
		state=$(sed 's/.*) //' "/proc/$pid/stat" | cut -c1)
		[ "$state" != Z ] || return 1
	fi
}

# Stop the cluster in runtime directory $1, if one is running there.
pg_stop_cluster() {
	local dir=$1 data=$1/data pg_ctl
	pg_postmaster_alive "$data" || return 0
	pg_find_bindir --no-install || die "pg_ctl not found: cannot stop the server in $dir"
	pg_ctl=$PG_BINDIR/pg_ctl
	log "stopping PostgreSQL in $dir"
	as_owner_of "$data" "$pg_ctl" stop -D "$data" -m fast -w -t "$TIMEOUT" >/dev/null ||
		as_owner_of "$data" "$pg_ctl" stop -D "$data" -m immediate -w -t "$TIMEOUT" >/dev/null ||
		! pg_postmaster_alive "$data" ||
		die "could not stop PostgreSQL in $dir (pid $(head -n 1 "$data/postmaster.pid"))"
}

pg_stop() {
	local dir dirs
	mapfile -t dirs < <(runtime_dir_candidates pg)
	for dir in "${dirs[@]}"; do
		pg_stop_cluster "$dir"
	done
	forget_runtime_dirs pg
}

pg_start() {
	local dir data rc
	pg_find_bindir
	server_user
	# A server left by an earlier (possibly killed) run: stop it and start from scratch.
	pg_stop
	rc=0
	pg_ready_status || rc=$?
	if [ "$rc" -ne 2 ]; then
		die "something else already answers on $PG_HOST:$PG_PORT; stop it or set ERPSYNC_TEST_PG_PORT"
	fi

	new_runtime_dir pg
	dir=$RUNTIME_DIR
	data=$dir/data
	log "initialising PostgreSQL ($PG_BINDIR) in $dir as OS user $SERVER_USER"
	if ! as_owner_of "$dir" env LC_ALL=C "$PG_BINDIR/initdb" -D "$data" -U "$PG_SUPERUSER" \
		--auth=trust --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		die "initdb failed (see above)"
	fi
	as_owner_of "$dir" mkdir -m 0700 "$dir/sock"
	cat >>"$data/postgresql.conf" <<-EOF

		# --- erpsync throwaway test server (scripts/testdb.sh) ---
		listen_addresses = '$PG_HOST'
		port = $PG_PORT
		unix_socket_directories = '$dir/sock'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
	EOF
	cat >"$data/pg_hba.conf" <<-EOF
		# erpsync throwaway test server: trust over the unix socket and IPv4 loopback only.
		local all all trust
		host  all all 127.0.0.1/32 trust
	EOF

	log "starting PostgreSQL on $PG_HOST:$PG_PORT"
	if ! as_owner_of "$dir" env LC_ALL=C "$PG_BINDIR/pg_ctl" start -D "$data" -l "$dir/server.log" \
		-w -t "$TIMEOUT" >/dev/null; then
		tail -n 30 "$dir/server.log" >&2 || true
		die "PostgreSQL failed to start on $PG_HOST:$PG_PORT (end of its log above; full log: $dir/server.log)"
	fi
	pg_wait_ready "$dir"
	"$(pg_tool createdb)" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" "$PG_DATABASE"
	log "PostgreSQL ready: database $PG_DATABASE on $PG_HOST:$PG_PORT"
}

pg_wait_ready() {
	local dir=$1 waited=0
	until pg_ready_status; do
		if [ "$waited" -ge "$TIMEOUT" ]; then
			tail -n 30 "$dir/server.log" >&2 || true
			die "PostgreSQL on $PG_HOST:$PG_PORT did not accept connections within ${TIMEOUT}s (full log: $dir/server.log)"
		fi
		sleep 1
		waited=$((waited + 1))
	done
}

pg_env() {
	printf 'export ERPSYNC_TEST_PG_URL=postgresql+psycopg://%s@%s:%s/%s\n' \
		"$PG_SUPERUSER" "$PG_HOST" "$PG_PORT" "$PG_DATABASE"
}

# --------------------------------------------------------------------------------------------
# (Further servers go here, one section each: NAME_start, NAME_stop, NAME_env.)
# --------------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

usage() {
	sed -n '4,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

main() {
	local cmd=${1:-} server i
	case $cmd in
	start)
		for server in "${SERVERS[@]}"; do
			"${server}_start"
		done
		;;
	stop)
		# In reverse order; keep going if one fails so that none is left running.
		local rc=0
		for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do
			("${SERVERS[i]}_stop") || rc=$?
		done
		return "$rc"
		;;
	env)
		for server in "${SERVERS[@]}"; do
			"${server}_env"
		done
		;;
	*) usage ;;
	esac
}

main "$@"
