#!/bin/sh
# atoll-agent-uninstall.sh, written by the atoll installer with this install's paths: stops the
# agent and the k3s agent it runs, tells the hub the node is leaving (authenticated by the node's
# client certificate), and removes every file the installer wrote, and the agent's data.
set -eu

ATOLL_ROOT='@ATOLL_ROOT@'
ATOLL_BIN='@ATOLL_BIN@'
ATOLL_LIB_DIR='@ATOLL_LIB_DIR@'
ATOLL_ETC_DIR='@ATOLL_ETC_DIR@'
ATOLL_DATA_DIR='@ATOLL_DATA_DIR@'
ATOLL_UNIT_FILE='@ATOLL_UNIT_FILE@'
ATOLL_OPENRC_FILE='@ATOLL_OPENRC_FILE@'
ATOLL_LOG_FILE='@ATOLL_LOG_FILE@'
ATOLL_SERVICE='@ATOLL_SERVICE@'
ATOLL_MANAGE_SERVICE='@ATOLL_MANAGE_SERVICE@'
ATOLL_HUB_URL='@ATOLL_HUB_URL@'

info() {
	printf '[atoll] %s\n' "$*" >&2
}

warn() {
	printf '[atoll] warning: %s\n' "$*" >&2
}

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo sh "$0" "$@"
	fi
	printf '[atoll] error: uninstalling needs root: run it as root, or install sudo\n' >&2
	exit 1
fi

stop_service() {
	if [ "$ATOLL_MANAGE_SERVICE" != true ]; then return 0; fi
	case $ATOLL_SERVICE in
		systemd)
			if command -v systemctl >/dev/null 2>&1; then
				systemctl disable --now atoll-agent.service >/dev/null 2>&1 || systemctl stop atoll-agent.service || true
			fi
			;;
		openrc)
			if command -v rc-service >/dev/null 2>&1; then
				rc-service atoll-agent stop >/dev/null 2>&1 || true
				rc-update del atoll-agent default >/dev/null 2>&1 || true
			fi
			;;
	esac
}

# pids_matching TEST: pids of processes for which TEST PID succeeds.
pids_matching() {
	for pm_dir in /proc/[0-9]*; do
		pm_pid=${pm_dir#/proc/}
		[ "$pm_pid" != "$$" ] || continue
		if "$1" "$pm_pid"; then printf '%s\n' "$pm_pid"; fi
	done
}

# An agent of this install: its command line names this install's bundle.
is_agent() {
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -Fq "$ATOLL_LIB_DIR/atoll-agent.mjs"
}

# A k3s process of this install (k3s agent, containerd, shims): its binary lives in the data dir
# (or, for a script, the interpreter runs a file from there).
is_k3s() {
	ik_exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
	ik_argv=$(tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -n 2) || return 1
	for ik_path in "$ik_exe" $ik_argv; do
		case $ik_path in
			"$ATOLL_DATA_DIR"/*) return 0 ;;
		esac
	done
	return 1
}

# stop_pids TEST WHAT: TERM, wait up to 10 s, then KILL.
stop_pids() {
	sp_pids=$(pids_matching "$1")
	[ -n "$sp_pids" ] || return 0
	info "stopping $2 (pids $(printf '%s' "$sp_pids" | tr '\n' ' '))"
	for sp_pid in $sp_pids; do kill -TERM "$sp_pid" 2>/dev/null || true; done
	sp_i=0
	while [ "$sp_i" -lt 20 ] && [ -n "$(pids_matching "$1")" ]; do
		sleep 0.5
		sp_i=$((sp_i + 1))
	done
	for sp_pid in $(pids_matching "$1"); do kill -KILL "$sp_pid" 2>/dev/null || true; done
}

# On systemd hosts the agent runs k3s as k3s-agent.service: stop and remove that unit when it is
# this install's (written by atoll-agent, running a k3s from this data dir).
stop_k3s_unit() {
	sk_unit=/etc/systemd/system/k3s-agent.service
	[ -f "$sk_unit" ] || return 0
	grep -q 'managed by atoll-agent' "$sk_unit" && grep -Fq "ExecStart=$ATOLL_DATA_DIR/" "$sk_unit" || return 0
	info "stopping and removing k3s-agent.service"
	if command -v systemctl >/dev/null 2>&1; then systemctl disable --now k3s-agent.service >/dev/null 2>&1 || true; fi
	rm -f "$sk_unit"
	if command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
}

unmount_under() {
	[ -r /proc/self/mounts ] || return 0
	awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r um_path; do
		umount "$um_path" 2>/dev/null || umount -l "$um_path" 2>/dev/null || true
	done
}

# What a k3s agent leaves outside its data dir (only on a real install that ran k3s).
clean_k3s_host() {
	[ -z "$ATOLL_ROOT" ] && [ -d "$ATOLL_DATA_DIR/k3s" ] || return 0
	for ck_dir in /run/k3s /var/lib/kubelet /run/netns; do unmount_under "$ck_dir"; done
	if command -v ip >/dev/null 2>&1; then
		for ck_link in cni0 flannel.1 flannel-v6.1 flannel-wg flannel-wg-v6; do
			ip link delete "$ck_link" >/dev/null 2>&1 || true
		done
	fi
	rm -rf /run/k3s /var/lib/kubelet /etc/rancher/node /var/lib/cni /run/flannel /var/log/pods /var/log/containers
}

json_field() {
	sed -n "s/^ *\"$2\" *: *\"\\([^\"]*\\)\".*/\\1/p" "$1" 2>/dev/null | head -n 1
}

# Tells the hub, with the node's own client certificate, that this node is leaving.
leave_hub() {
	lh_id_file=$ATOLL_DATA_DIR/identity.json
	if [ ! -f "$lh_id_file" ]; then
		info "no identity in $ATOLL_DATA_DIR: this server never joined, nothing to tell the hub"
		return 0
	fi
	lh_node=$(json_field "$lh_id_file" nodeId)
	lh_hub=$(json_field "$lh_id_file" hubUrl)
	lh_hub=${lh_hub:-$ATOLL_HUB_URL}
	lh_cert=$ATOLL_DATA_DIR/$(json_field "$lh_id_file" certFile)
	lh_key=$ATOLL_DATA_DIR/$(json_field "$lh_id_file" keyFile)
	lh_ca=$ATOLL_DATA_DIR/ca.crt
	lh_url=$lh_hub/v1/agent/leave
	lh_out=$(mktemp)
	lh_rc=0
	lh_code=''
	if command -v curl >/dev/null 2>&1; then
		lh_code=$(curl -sS --proto '=https' --connect-timeout 10 --max-time 180 --cacert "$lh_ca" --cert "$lh_cert" --key "$lh_key" \
			-X POST -o "$lh_out" -w '%{http_code}' "$lh_url" 2>"$lh_out.err") || lh_rc=$?
	elif command -v wget >/dev/null 2>&1; then
		wget -q -S --timeout=10 --tries=1 --ca-certificate="$lh_ca" --certificate="$lh_cert" --private-key="$lh_key" \
			--post-data='' -O "$lh_out" "$lh_url" 2>"$lh_out.err" || lh_rc=$?
		lh_code=$(sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9]*\).*/\1/p' "$lh_out.err" | tail -n 1)
	fi
	if [ "$lh_code" = 200 ]; then
		info "told the hub at $lh_hub: node $lh_node has left and is removed there"
	else
		lh_why=$(head -c 300 "$lh_out" 2>/dev/null || true)
		if [ "$lh_rc" -ne 0 ]; then lh_why="exit $lh_rc: $(tail -n 1 "$lh_out.err" 2>/dev/null || true)"; fi
		warn "could not tell the hub at $lh_url that node $lh_node is leaving (HTTP ${lh_code:-none}; $lh_why)"
		warn "remove it on the hub with: atoll-hub node remove $lh_node"
	fi
	rm -f "$lh_out" "$lh_out.err"
}

main() {
	info "uninstalling the atoll agent"
	stop_service
	stop_pids is_agent "the atoll agent"
	stop_k3s_unit
	stop_pids is_k3s "the k3s agent"
	unmount_under "$ATOLL_DATA_DIR"
	leave_hub
	clean_k3s_host
	case $ATOLL_SERVICE in
		systemd)
			rm -f "$ATOLL_UNIT_FILE"
			if [ "$ATOLL_MANAGE_SERVICE" = true ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi
			;;
		openrc) rm -f "$ATOLL_OPENRC_FILE" ;;
	esac
	rm -rf "$ATOLL_DATA_DIR" "$ATOLL_LIB_DIR" "$ATOLL_ETC_DIR"
	rm -f "$ATOLL_BIN" "$ATOLL_LOG_FILE"
	info "the atoll agent is uninstalled"
	rm -f "$0"
}

main "$@"
