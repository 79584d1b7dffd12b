#!/bin/sh
# atoll-agent-uninstall.sh, written by the atoll installer with this install's paths: stops the
# agent and the k3s agent it runs (this install's only), tells the hub the node is leaving
# (authenticated by the node's client certificate; a hub that already removed it is fine), unmounts
# what k3s left mounted, and removes every file the installer wrote, and the agent's data. A file it
# cannot remove is named at the end (exit 1), after everything else was done.
set -eu

ATOLL_ROOT='@ATOLL_ROOT@'
ATOLL_BIN='@ATOLL_BIN@'
ATOLL_LIB_DIR='@ATOLL_LIB_DIR@'
ATOLL_ETC_DIR='@ATOLL_ETC_DIR@'
ATOLL_DATA_DIR='@ATOLL_DATA_DIR@'
ATOLL_UNIT_FILE='@ATOLL_UNIT_FILE@'
ATOLL_OPENRC_FILE='@ATOLL_OPENRC_FILE@'
ATOLL_LOG_FILE='@ATOLL_LOG_FILE@'
ATOLL_SUPERVISE_PID_FILE='@ATOLL_SUPERVISE_PID_FILE@'
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

# An agent of this install: one of its arguments is this install's bundle (exactly: the bundle of
# an install root elsewhere, /x/usr/local/lib/atoll-agent/atoll-agent.mjs, is not this one's).
is_agent() {
	tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -Fxq "$ATOLL_LIB_DIR/atoll-agent.mjs"
}

# A supervisor of this install ('atoll-agent supervise'): it runs this install's supervise.sh.
is_supervisor() {
	tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -Fxq "$ATOLL_LIB_DIR/supervise.sh"
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

# unmount_under DIR: unmounts DIR and every mount below it, deepest first (as k3s-killall.sh does);
# a busy one is detached (umount -l), so the directories can go.
unmount_under() {
	[ -r /proc/self/mounts ] || return 0
	awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r um_path; do
		umount "$um_path" 2>/dev/null || umount -f "$um_path" 2>/dev/null || umount -l "$um_path" 2>/dev/null || warn "could not unmount $um_path"
	done
}

LEFT=''

# remove PATH...: rm -rf each, and note what could not be removed (the uninstall goes on).
remove() {
	for rm_path in "$@"; do
		if [ -e "$rm_path" ] || [ -L "$rm_path" ]; then
			rm -rf "$rm_path" 2>/dev/null || { warn "could not remove $rm_path"; LEFT="$LEFT $rm_path"; }
		fi
	done
}

# What a k3s agent leaves outside its data dir (under the install root for an install root).
clean_k3s_host() {
	[ -d "$ATOLL_DATA_DIR/k3s" ] || return 0
	for ck_dir in "$ATOLL_ROOT/run/k3s" "$ATOLL_ROOT/var/lib/kubelet"; do
		if [ -e "$ck_dir" ]; then unmount_under "$ck_dir"; fi
	done
	# The pods' network namespaces (bind mounts of nsfs files).
	for ck_ns in "$ATOLL_ROOT"/run/netns/cni-*; do
		if [ -e "$ck_ns" ]; then unmount_under "$ck_ns" && remove "$ck_ns"; fi
	done
	if [ -z "$ATOLL_ROOT" ] && command -v ip >/dev/null 2>&1; then
		for ck_link in cni0 flannel.1 flannel-v6.1 flannel-wg flannel-wg-v6; do
			ip link delete "$ck_link" >/dev/null 2>&1 || true
		done
	fi
	for ck_dir in /run/k3s /var/lib/kubelet /etc/rancher/node /var/lib/cni /run/flannel /var/log/pods /var/log/containers; do
		remove "$ATOLL_ROOT$ck_dir"
	done
}

json_field() {
	sed -n "s/^ *\"$2\" *: *\"\\([^\"]*\\)\".*/\\1/p" "$1" 2>/dev/null | head -n 1
}

# Tells the hub, with the node's own client certificate, that this node is leaving.
leave_hub() {
	lh_id_file=$ATOLL_DATA_DIR/identity.json
	if [ ! -f "$lh_id_file" ]; then
		if [ -f "$ATOLL_DATA_DIR/removed.json" ]; then
			info "the hub removed node $(json_field "$ATOLL_DATA_DIR/removed.json" nodeId) already: nothing to tell it"
		else
			info "no identity in $ATOLL_DATA_DIR: this server never joined, nothing to tell the hub"
		fi
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
	lh_err=$(sed -n 's/.*"code" *: *"\([A-Z_]*\)".*/\1/p' "$lh_out" 2>/dev/null | head -n 1)
	if [ "$lh_code" = 200 ]; then
		info "told the hub at $lh_hub: node $lh_node has left and is removed there"
	elif [ "$lh_code" = 403 ] || [ "$lh_code" = 401 ] || [ "$lh_err" = NOT_FOUND ]; then
		# The hub no longer knows this node (removed, revoked, unknown): it has nothing left to do.
		lh_msg=$(sed -n 's/.*"message" *: *"\([^"]*\)".*/\1/p' "$lh_out" 2>/dev/null | head -n 1)
		info "the hub at $lh_hub no longer has node $lh_node (${lh_msg:-HTTP $lh_code}): nothing to tell it"
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
	# The supervisor first (it stops its agent), or it would start the agent again.
	stop_pids is_supervisor "the agent's supervisor"
	stop_pids is_agent "the atoll agent"
	stop_k3s_unit
	stop_pids is_k3s "the k3s agent"
	leave_hub
	# Unmount first, then remove: rm -rf on a mount point in use would fail half way.
	unmount_under "$ATOLL_DATA_DIR"
	clean_k3s_host
	# The identity (key, certificates) first: nothing that looks joined may stay behind.
	remove "$ATOLL_DATA_DIR/identity.json" "$ATOLL_DATA_DIR"
	case $ATOLL_SERVICE in
		systemd)
			remove "$ATOLL_UNIT_FILE"
			if [ "$ATOLL_MANAGE_SERVICE" = true ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi
			;;
		openrc) remove "$ATOLL_OPENRC_FILE" ;;
	esac
	remove "$ATOLL_LIB_DIR" "$ATOLL_ETC_DIR" "$ATOLL_BIN" "$ATOLL_LOG_FILE" "$ATOLL_SUPERVISE_PID_FILE"
	if [ -n "$LEFT" ]; then
		printf '[atoll] error: uninstalled, but these could not be removed:%s\n' "$LEFT" >&2
		rm -f "$0"
		exit 1
	fi
	info "the atoll agent is uninstalled"
	rm -f "$0"
}

main "$@"
