#!/bin/sh
# atoll-agent supervise, written by the atoll installer with this install's paths filled in: keeps
# the agent running on a host without systemd or OpenRC (install.sh --service supervised; cloud-init
# documents pick it there). `atoll-agent supervise` runs this. It restarts the agent a few seconds
# after it stops (a crash), at once after exit 10 (it swapped its bundle for a self-upgrade), never
# after exit 3 (the hub removed this node), and stops it on TERM or INT, then exits itself.
ATOLL_BIN='@ATOLL_BIN@'
ATOLL_ENV_FILE='@ATOLL_ENV_FILE@'
ATOLL_PID_FILE='@ATOLL_SUPERVISE_PID_FILE@'

log() {
	printf '%s atoll-agent supervise: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

# The settings a unit would load (EnvironmentFile=).
set -a
# shellcheck disable=SC1090
if [ -f "$ATOLL_ENV_FILE" ]; then . "$ATOLL_ENV_FILE"; fi
set +a

# Seconds between a crash and the restart (at least 1: a crash loop must not spin).
restart_sec=${ATOLL_SUPERVISE_RESTART_SEC:-5}
case $restart_sec in '' | *[!0-9]* | 0) restart_sec=5 ;; esac

mkdir -p "$(dirname "$ATOLL_PID_FILE")" && echo "$$" >"$ATOLL_PID_FILE"
stopping=false
child=''
sleeper=''
on_stop() {
	stopping=true
	for os_pid in $child $sleeper; do kill -TERM "$os_pid" 2>/dev/null || true; done
}
trap on_stop TERM INT
trap 'rm -f "$ATOLL_PID_FILE"' EXIT

log "supervising $ATOLL_BIN run (pid $$)"
while :; do
	"$ATOLL_BIN" run "$@" &
	child=$!
	rc=0
	wait "$child" || rc=$?
	# A signal to this loop interrupts wait: then wait for the agent itself to finish.
	while kill -0 "$child" 2>/dev/null; do
		rc=0
		wait "$child" || rc=$?
	done
	child=''
	if [ "$stopping" = true ]; then
		log "stopped"
		exit 0
	fi
	case $rc in
		3)
			log "the hub removed this node (exit 3): not restarting"
			exit 3
			;;
		10)
			log "the agent swapped its bundle (exit 10): starting the new one"
			delay=1
			;;
		*)
			log "the agent stopped (exit $rc): restarting in ${restart_sec}s"
			delay=$restart_sec
			;;
	esac
	sleep "$delay" &
	sleeper=$!
	wait "$sleeper" || true
	sleeper=''
	if [ "$stopping" = true ]; then
		log "stopped"
		exit 0
	fi
done
