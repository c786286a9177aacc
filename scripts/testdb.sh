#!/usr/bin/env bash
# Throwaway database servers for erpsync's test suite.
#
#   scripts/testdb.sh start   start fresh, empty servers (replacing any left over from an earlier run)
#   scripts/testdb.sh stop    stop them and delete their data; a no-op when nothing is running
#   scripts/testdb.sh env     print `export ...` lines for the tests; use: eval "$(scripts/testdb.sh env)"
#
# Servers: PostgreSQL (pg) and MariaDB (mariadb, for the MySQL-family adapters such as RuoYi).
# They listen on 127.0.0.1 only, with trust auth (PostgreSQL) or a fixed test password (MariaDB)
# and durability switched off: they hold nothing but test data and must never be used for
# anything else. As root, a missing server is installed from the distribution's packages.
#
# Settings (environment):
#   ERPSYNC_TEST_PG_PORT      TCP port of the PostgreSQL server (default 54329)
#   ERPSYNC_TEST_MYSQL_PORT   TCP port of the MariaDB server (default 33069)
#   ERPSYNC_TESTDB_SERVERS    servers that `start` and `env` handle (default: "pg mariadb");
#                             `stop` always stops all of them
#   ERPSYNC_TESTDB_OSUSER     OS account that runs the servers when this script runs as root
#                             (default: for PostgreSQL `postgres` if it exists, else a system user
#                             `erpsync-test`; for MariaDB `mysql`, created if absent)
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
# and <repo>/.testdb/<port>/pg is a symlink to <runtime>, which is how `stop` finds it again. The
# runtime directory's name carries a hash of the repository path and the port, so each checkout
# has its own and a server orphaned by a deleted .testdb/ is still found and stopped by the next
# run. Checkouts and concurrent runs share the default port, though: run one at a time, or give
# each its own ERPSYNC_TEST_PG_PORT (the same value for `start`, `env` and `stop`).
# MariaDB is laid out the same way (<runtime>/data, <runtime>/mysqld.sock, <runtime>/server.log,
# <repo>/.testdb/<its port>/mariadb), keyed by ERPSYNC_TEST_MYSQL_PORT.
# The same layout is used when not root, so there is one code path to test.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# Keyed by the port too, so runs on different ERPSYNC_TEST_PG_PORTs never stop each other.
INSTANCE=${ERPSYNC_TEST_PG_PORT:-54329}
STATE_DIR="$REPO/.testdb/$INSTANCE"
REPO_HASH=$(printf '%s:%s' "$REPO" "$INSTANCE" | sha256sum | cut -c1-12)
TIMEOUT=${ERPSYNC_TESTDB_TIMEOUT:-60}

# Servers that `start`, `stop` and `env` handle, in start order. Each NAME here has three
# functions below: NAME_start, NAME_stop and NAME_env. To add one (as MariaDB was, for the MySQL
# adapters), write those three functions in a section of their own and add NAME to this list;
# the generic helpers (log, die, server_user, as_owner_of, new_runtime_dir, ...) are shared.
SERVERS=(pg mariadb)
# The subset that `start` and `env` handle (ERPSYNC_TESTDB_SERVERS), in the order of SERVERS.
SELECTED=()
select_servers() {
	local want=" ${ERPSYNC_TESTDB_SERVERS:-${SERVERS[*]}} " name known known_name
	for name in ${ERPSYNC_TESTDB_SERVERS:-}; do
		known=0
		for known_name in "${SERVERS[@]}"; do
			[ "$name" != "$known_name" ] || known=1
		done
		[ "$known" -eq 1 ] || die "ERPSYNC_TESTDB_SERVERS: unknown server $name (known: ${SERVERS[*]})"
	done
	for name in "${SERVERS[@]}"; do
		case $want in *" $name "*) SELECTED+=("$name") ;; esac
	done
}

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
# MariaDB (the MySQL-family adapters, e.g. RuoYi)
# --------------------------------------------------------------------------------------------
#
# A mariadbd of its own (--no-defaults: no /etc/mysql config, never the distribution's service),
# run as the `mysql` OS account when root. root@localhost has an empty password and is reached
# over the unix socket only (mariadb-install-db's root accounts for TCP are dropped); the tests
# connect over TCP as MY_USER, who may do anything (tests create a database each).

MY_PORT=${ERPSYNC_TEST_MYSQL_PORT:-33069}
MY_HOST=127.0.0.1
MY_DATABASE=erpsync_test
MY_USER=erpsync
MY_PASSWORD=erpsync-test
# Keyed like PostgreSQL's but by MariaDB's own port: .testdb/<port>/mariadb and the hash in the
# runtime directory's name. my_start and my_stop shadow STATE_DIR and REPO_HASH with these
# (bash's `local` is dynamically scoped, so the generic helpers they call see them).
MY_STATE_DIR=$REPO/.testdb/$MY_PORT
MY_REPO_HASH=$(printf '%s:%s' "$REPO" "$MY_PORT" | sha256sum | cut -c1-12)
MY_SERVERD=
MY_INSTALL_DB=
MY_ADMIN=
MY_CLIENT=

# Print the path of the first of the named programs found on PATH or in the usual bin and sbin
# directories (mariadbd lives in /usr/sbin, which is not on every PATH); 1 if none is.
my_lookup() {
	local name dir
	for name in "$@"; do
		if command -v "$name" 2>/dev/null; then
			return
		fi
		for dir in /usr/sbin /usr/local/sbin /usr/bin /usr/local/bin; do
			if [ -x "$dir/$name" ]; then
				printf '%s\n' "$dir/$name"
				return
			fi
		done
	done
	return 1
}

# Find the server, mariadb-install-db, mariadb-admin and the client; as root on Debian/Ubuntu
# with no server, install the distribution's mariadb-server package.
# With --no-install, return 1 instead of installing.
my_find_bins() {
	if [ -n "$MY_SERVERD" ]; then
		return
	fi
	if ! my_lookup mariadbd mysqld >/dev/null; then
		if [ "${1:-}" = --no-install ]; then
			return 1
		fi
		if is_root && command -v apt-get >/dev/null 2>&1; then
			my_install
		fi
	fi
	MY_SERVERD=$(my_lookup mariadbd mysqld) ||
		die "MariaDB server (mariadbd) not found on PATH or in /usr/sbin; install MariaDB (Debian: mariadb-server)"
	MY_INSTALL_DB=$(my_lookup mariadb-install-db mysql_install_db) || die "mariadb-install-db not found"
	MY_ADMIN=$(my_lookup mariadb-admin mysqladmin) || die "mariadb-admin not found"
	MY_CLIENT=$(my_lookup mariadb mysql) || die "the mariadb client not found"
}

# apt-get install mariadb-server without leaving the distribution's own service running: a
# policy-rc.d that forbids starting services is put in place for the install when none is there
# (container images usually have one already), and a service that starts anyway is stopped.
# Serialised by a lock so that concurrent runs on one machine don't race over apt and policy-rc.d.
my_install() {
	local lock_dir=/run/lock
	[ -d "$lock_dir" ] || lock_dir=/tmp
	log "MariaDB server binaries not found; installing the distribution's mariadb-server package"
	(
		flock -w 900 9 || exit 1
		if my_lookup mariadbd mysqld >/dev/null; then
			exit 0 # installed by a concurrent run while we waited
		fi
		policy=/usr/sbin/policy-rc.d
		if [ ! -e "$policy" ]; then
			trap 'rm -f -- "$policy"' EXIT
			printf '#!/bin/sh\n# scripts/testdb.sh (erpsync): start no service during its apt-get install\nexit 101\n' >"$policy" || exit 1
			chmod 0755 "$policy" || exit 1
		fi
		export DEBIAN_FRONTEND=noninteractive
		apt-get -q -o DPkg::Lock::Timeout=600 update >&2 || exit 1
		apt-get -y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef \
			-o Dpkg::Options::=--force-confold install --no-install-recommends mariadb-server >&2 || exit 1
	) 9>"$lock_dir/erpsync-testdb-apt.lock" || die "installing mariadb-server with apt-get failed (see above)"
	my_stop_distribution_service
}

# Stop the distribution's MariaDB service (datadir /var/lib/mysql) if the install started it.
my_stop_distribution_service() {
	local pid
	pid=$(cat /run/mysqld/mysqld.pid 2>/dev/null) || pid=
	if [ -d /run/systemd/system ] && systemctl is-active --quiet mariadb 2>/dev/null; then
		log "stopping the distribution's MariaDB service that the package install started"
		systemctl stop mariadb >&2 || true
	elif [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		log "stopping the distribution's MariaDB service that the package install started"
		service mariadb stop >&2 || kill "$pid" 2>/dev/null || true
	fi
}

# The account that runs mariadbd (sets SERVER_USER, which the caller has made local): the caller
# itself, or as root ERPSYNC_TESTDB_OSUSER, else `mysql` (a system user, created if absent).
my_server_user() {
	if ! is_root || [ -n "${ERPSYNC_TESTDB_OSUSER:-}" ]; then
		server_user
		return
	fi
	SERVER_USER=mysql
	if ! id -u "$SERVER_USER" >/dev/null 2>&1; then
		log "creating system user $SERVER_USER to run the MariaDB test server"
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$SERVER_USER"
	fi
}

# Process ids of the live mariadbd (or mysqld) serving runtime directory $1, found by their
# --datadir argument: no pid file needed, so a server whose files were deleted is found too.
my_server_pids() {
	local want="--datadir=$1/data" proc comm state
	for proc in /proc/[0-9]*; do
		comm=
		read -r comm 2>/dev/null <"$proc/comm" || continue
		case $comm in
		mariadbd | mysqld) ;;
		*) continue ;;
		esac
		state=$(sed 's/.*) //' "$proc/stat" 2>/dev/null | cut -c1) || continue
		[ "$state" != Z ] || continue
		if tr '\0' '\n' 2>/dev/null <"$proc/cmdline" | grep -Fxq -- "$want"; then
			printf '%s\n' "${proc#/proc/}"
		fi
	done
}

# Wait up to $2 seconds for the server of runtime directory $1 to exit.
my_wait_gone() {
	local dir=$1 deadline=$((SECONDS + $2))
	while [ -n "$(my_server_pids "$dir")" ]; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# mariadb-admin as root@localhost over the unix socket of runtime directory $1.
my_admin() {
	local dir=$1
	shift
	"$MY_ADMIN" --no-defaults --socket="$dir/mysqld.sock" --user=root --connect-timeout=2 "$@"
}

# Stop the server of runtime directory $1, if one is running: a clean shutdown through
# mariadb-admin, else SIGTERM (which also shuts down cleanly), else SIGKILL.
my_stop_server() {
	local dir=$1 pids
	mapfile -t pids < <(my_server_pids "$dir")
	[ "${#pids[@]}" -gt 0 ] || return 0
	log "stopping MariaDB in $dir"
	if [ -S "$dir/mysqld.sock" ] && my_find_bins --no-install &&
		timeout "$TIMEOUT" "$MY_ADMIN" --no-defaults --socket="$dir/mysqld.sock" --user=root \
			--connect-timeout=5 --shutdown-timeout="$TIMEOUT" shutdown >/dev/null 2>&1 &&
		my_wait_gone "$dir" "$TIMEOUT"; then
		return
	fi
	log "MariaDB in $dir: no clean shutdown through its socket; sending SIGTERM to ${pids[*]}"
	kill -TERM "${pids[@]}" 2>/dev/null || true
	my_wait_gone "$dir" "$TIMEOUT" && return
	log "MariaDB in $dir still running: sending SIGKILL to ${pids[*]}"
	kill -KILL "${pids[@]}" 2>/dev/null || true
	my_wait_gone "$dir" 10 || die "could not stop MariaDB in $dir (pids ${pids[*]})"
}

mariadb_stop() {
	local STATE_DIR=$MY_STATE_DIR REPO_HASH=$MY_REPO_HASH dir dirs
	mapfile -t dirs < <(runtime_dir_candidates mariadb)
	for dir in "${dirs[@]}"; do
		my_stop_server "$dir"
	done
	forget_runtime_dirs mariadb
}

# Does anything accept TCP connections on $MY_HOST:$MY_PORT?
my_port_in_use() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$MY_HOST" "$MY_PORT" 2>/dev/null
}

mariadb_start() {
	local STATE_DIR=$MY_STATE_DIR REPO_HASH=$MY_REPO_HASH SERVER_USER='' dir data owner started rc
	my_find_bins
	my_server_user
	# A server left by an earlier (possibly killed) run: stop it and start from scratch.
	mariadb_stop
	if my_port_in_use; then
		die "something else already listens on $MY_HOST:$MY_PORT; stop it or set ERPSYNC_TEST_MYSQL_PORT"
	fi

	new_runtime_dir mariadb
	dir=$RUNTIME_DIR
	data=$dir/data
	log "initialising MariaDB ($MY_SERVERD) in $dir as OS user $SERVER_USER"
	# (Run as the server account already, so no --user: with it, it tries to chown a PAM helper.)
	# Its temporary files go to the runtime directory, which the server account owns: TMPDIR
	# may be a directory only the caller can write (as root, e.g. a private /root/tmp).
	if ! as_owner_of "$dir" env TMPDIR="$dir" "$MY_INSTALL_DB" --no-defaults --datadir="$data" \
		--tmpdir="$dir" --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
		>"$dir/install-db.log" 2>&1; then
		cat "$dir/install-db.log" >&2
		die "mariadb-install-db failed (see above)"
	fi

	log "starting MariaDB on $MY_HOST:$MY_PORT"
	# In the background, detached (a session of its own, so no terminal signal reaches it);
	# it logs to stderr, i.e. to server.log.
	owner=$(stat -c %U "$dir")
	set -- "$MY_SERVERD" --no-defaults \
		--datadir="$data" --socket="$dir/mysqld.sock" --pid-file="$dir/mariadbd.pid" \
		--tmpdir="$dir" --port="$MY_PORT" --bind-address="$MY_HOST" --skip-name-resolve \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
		--skip-log-bin --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
		--skip-symbolic-links
	# Raise the soft limit of open files to the hard one first (runuser's PAM session resets it,
	# often to 1024, which would shrink mariadbd's table cache).
	# shellcheck disable=SC2016 # expanded by that sh
	set -- sh -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; exec "$@"' mariadbd "$@"
	if is_root && [ "$owner" != root ]; then
		set -- runuser -u "$owner" -- "$@"
	fi
	(cd / && exec setsid "$@" </dev/null >>"$dir/server.log" 2>&1 &)

	started=$SECONDS
	until my_admin "$dir" ping >/dev/null 2>&1; do
		# (Until the launcher has exec'd mariadbd there is no process to find: allow it 3s.)
		if [ $((SECONDS - started)) -ge 3 ] && [ -z "$(my_server_pids "$dir")" ]; then
			tail -n 30 "$dir/server.log" >&2 || true
			die "MariaDB exited during start-up (end of its log above; full log: $dir/server.log)"
		fi
		if [ $((SECONDS - started)) -ge "$TIMEOUT" ]; then
			tail -n 30 "$dir/server.log" >&2 || true
			die "MariaDB on $MY_HOST:$MY_PORT did not accept connections within ${TIMEOUT}s (full log: $dir/server.log)"
		fi
		sleep 0.2
	done

	rc=0
	"$MY_CLIENT" --no-defaults --socket="$dir/mysqld.sock" --user=root --batch <<-EOF || rc=$?
		DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1', 'root'@'$(uname -n)';
		CREATE DATABASE \`$MY_DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
		CREATE USER '$MY_USER'@'$MY_HOST' IDENTIFIED BY '$MY_PASSWORD';
		GRANT ALL PRIVILEGES ON *.* TO '$MY_USER'@'$MY_HOST';
	EOF
	[ "$rc" -eq 0 ] || die "could not create database $MY_DATABASE and user $MY_USER in MariaDB"
	# What the tests do: log in as the test user over TCP.
	"$MY_CLIENT" --no-defaults --host="$MY_HOST" --port="$MY_PORT" --user="$MY_USER" \
		--password="$MY_PASSWORD" --database="$MY_DATABASE" --batch -e 'SELECT 1' >/dev/null ||
		die "MariaDB is up but $MY_USER cannot log in over $MY_HOST:$MY_PORT"
	log "MariaDB ready: database $MY_DATABASE on $MY_HOST:$MY_PORT (user $MY_USER)"
}

mariadb_env() {
	# Quoted: the URL has a `?`, a glob character to a shell that evaluates the line unquoted.
	printf "export ERPSYNC_TEST_MYSQL_URL='mysql+pymysql://%s:%s@%s:%s/%s?charset=utf8mb4'\n" \
		"$MY_USER" "$MY_PASSWORD" "$MY_HOST" "$MY_PORT" "$MY_DATABASE"
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
		select_servers
		for server in "${SELECTED[@]}"; do
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
		select_servers
		for server in "${SELECTED[@]}"; do
			"${server}_env"
		done
		;;
	*) usage ;;
	esac
}

main "$@"
