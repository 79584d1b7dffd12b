#!/bin/sh
# atoll agent installer: joins this server to an atoll hub, in one line.
#
#   curl -sSfL --pinnedpubkey 'sha256//KEY' --insecure https://HUB:9444/install.sh | sudo sh -s - --token TOKEN [options]
#
# (atoll-hub join-command prints that line: curl checks the hub's serving key against the pin before
# sh runs any of this, so this script is the hub's own.)
# The hub serves this file with its own URL written in (the default for --hub). The script trusts
# nothing it downloads until the hub's CA matches the pin inside the token: it fetches /cacerts
# without verification, compares its SHA-256 with the pin, stops on a mismatch, and from then on
# makes every request with --cacert set to that CA (curl or GNU wget).
#
# What it does: picks a Node.js >= 20.19 (the system's, or a runtime the hub serves for this arch),
# downloads the agent bundle and checks its SHA-256, joins the hub (the node's key is made here and
# never leaves it), installs a wrapper, a settings file (0600), an uninstall script, and a systemd
# unit or OpenRC script, then enables and starts the service. Run it again and it changes nothing
# that has not changed, and never joins twice.
#
# The whole script is one brace group that ends with the call to main: sh reads and parses the
# group before it runs any of it, so a download cut short is a syntax error and runs nothing.
{
set -eu

ATOLL_SCRIPT_HUB_URL='@@ATOLL_HUB_URL@@'
ATOLL_SCRIPT_VERSION='@@ATOLL_VERSION@@'
ATOLL_MIN_NODE='20.19'

usage() {
	cat <<'EOF'
Usage: install.sh --token TOKEN [options]        (or: curl ... /install.sh | sudo sh -s - --token TOKEN)

Options (each also as an environment variable):
  --token TOKEN           join token from the hub: AT1<ca pin>::<id>.<secret>        ATOLL_TOKEN
  --token-file FILE       read the token from FILE (e.g. 0600): keeps it off every    ATOLL_TOKEN_FILE
                          command line (ps, sudo's log); ATOLL_TOKEN does the same
  --hub URL               hub gateway URL (default: the hub that served this script)  ATOLL_HUB_URL
  --pool POOL             pool to join (must match the token)                          ATOLL_POOL
  --node-name NAME        Kubernetes node name (default: the hostname)                 ATOLL_NODE_NAME
  --node-name-prefix P    name the node P-<id from /etc/machine-id>                    ATOLL_NODE_NAME_PREFIX
  --label k=v             node label (repeatable)                                      ATOLL_LABELS (k=v,k=v)
  --k3s auto|off          off: join and report health without installing k3s          ATOLL_AGENT_K3S
  --node auto|system|hub  Node.js to run the agent: system, the hub's runtime, or      ATOLL_NODE_RUNTIME
                          auto (system when >= 20.19, else the hub's)
  --service auto|systemd|openrc|supervised|none                                        ATOLL_SERVICE
                          supervised: no init system; 'atoll-agent supervise' (a small
                          sh loop) restarts the agent, started now but not at boot
  --no-service            same as --service none: install, join, start nothing
  --no-start              write the service files but do not enable or start them     ATOLL_SKIP_START=true
  --install-root DIR      put every file under DIR (tests, images); the files name     ATOLL_INSTALL_ROOT
                          the moved paths and no service manager is called
  --data-dir DIR          agent state (default <root>/var/lib/atoll-agent)            ATOLL_AGENT_DATA_DIR
  -h, --help              this text
EOF
}

info() {
	printf '[atoll] %s\n' "$*" >&2
}

warn() {
	printf '[atoll] warning: %s\n' "$*" >&2
}

fatal() {
	printf '[atoll] error: %s\n' "$*" >&2
	exit 1
}

usage_error() {
	printf '[atoll] error: %s (see --help)\n' "$*" >&2
	exit 2
}

# Settings: environment first, flags override.
load_settings() {
	# The token from the environment is used only when no flag gives one; no child inherits it.
	TOKEN_ENV=${ATOLL_TOKEN:-}
	TOKEN_FILE_ENV=${ATOLL_TOKEN_FILE:-}
	unset ATOLL_TOKEN ATOLL_TOKEN_FILE
	TOKEN=''
	TOKEN_FILE=''
	HUB_URL=${ATOLL_HUB_URL:-}
	POOL=${ATOLL_POOL:-}
	NODE_NAME=${ATOLL_NODE_NAME:-}
	NODE_NAME_PREFIX=${ATOLL_NODE_NAME_PREFIX:-}
	LABELS=$(printf '%s' "${ATOLL_LABELS:-}" | tr ',' '\n')
	K3S_MODE=${ATOLL_AGENT_K3S:-}
	NODE_RUNTIME=${ATOLL_NODE_RUNTIME:-auto}
	SERVICE=${ATOLL_SERVICE:-auto}
	SKIP_START=${ATOLL_SKIP_START:-false}
	INSTALL_ROOT=${ATOLL_INSTALL_ROOT:-}
	DATA_DIR=${ATOLL_AGENT_DATA_DIR:-}
}

need_value() {
	[ "$2" -ge 2 ] || usage_error "$1 needs a value"
}

parse_args() {
	while [ "$#" -gt 0 ]; do
		case $1 in
			--token) need_value "$1" "$#"; TOKEN=$2; shift 2 ;;
			--token=*) TOKEN=${1#*=}; shift ;;
			--token-file) need_value "$1" "$#"; TOKEN_FILE=$2; shift 2 ;;
			--token-file=*) TOKEN_FILE=${1#*=}; shift ;;
			--hub) need_value "$1" "$#"; HUB_URL=$2; shift 2 ;;
			--hub=*) HUB_URL=${1#*=}; shift ;;
			--pool) need_value "$1" "$#"; POOL=$2; shift 2 ;;
			--pool=*) POOL=${1#*=}; shift ;;
			--node-name) need_value "$1" "$#"; NODE_NAME=$2; shift 2 ;;
			--node-name=*) NODE_NAME=${1#*=}; shift ;;
			--node-name-prefix) need_value "$1" "$#"; NODE_NAME_PREFIX=$2; shift 2 ;;
			--node-name-prefix=*) NODE_NAME_PREFIX=${1#*=}; shift ;;
			--label) need_value "$1" "$#"; LABELS=$(printf '%s\n%s' "$LABELS" "$2"); shift 2 ;;
			--label=*) LABELS=$(printf '%s\n%s' "$LABELS" "${1#*=}"); shift ;;
			--k3s) need_value "$1" "$#"; K3S_MODE=$2; shift 2 ;;
			--k3s=*) K3S_MODE=${1#*=}; shift ;;
			--node) need_value "$1" "$#"; NODE_RUNTIME=$2; shift 2 ;;
			--node=*) NODE_RUNTIME=${1#*=}; shift ;;
			--service) need_value "$1" "$#"; SERVICE=$2; shift 2 ;;
			--service=*) SERVICE=${1#*=}; shift ;;
			--no-service) SERVICE=none; shift ;;
			--no-start) SKIP_START=true; shift ;;
			--install-root) need_value "$1" "$#"; INSTALL_ROOT=$2; shift 2 ;;
			--install-root=*) INSTALL_ROOT=${1#*=}; shift ;;
			--data-dir) need_value "$1" "$#"; DATA_DIR=$2; shift 2 ;;
			--data-dir=*) DATA_DIR=${1#*=}; shift ;;
			-h|--help) usage; exit 0 ;;
			--) shift ;;
			*) usage_error "unknown option: $1" ;;
		esac
	done
}

# Paths go into unit files, env files and scripts: keep them to characters that need no quoting.
check_path() {
	case $2 in
		/*) ;;
		*) usage_error "$1 must be an absolute path, not '$2'" ;;
	esac
	case $2 in
		*[!A-Za-z0-9/._+-]*) usage_error "$1 '$2' has characters other than letters, digits and / . _ + -" ;;
	esac
}

validate_settings() {
	case $K3S_MODE in '' | auto | off) ;; *) usage_error "--k3s must be auto or off, not '$K3S_MODE'" ;; esac
	case $NODE_RUNTIME in auto | system | hub) ;; *) usage_error "--node must be auto, system or hub, not '$NODE_RUNTIME'" ;; esac
	case $SERVICE in auto | systemd | openrc | supervised | none) ;; *) usage_error "--service must be auto, systemd, openrc, supervised or none, not '$SERVICE'" ;; esac
	case $SKIP_START in true | 1 | yes) SKIP_START=true ;; *) SKIP_START=false ;; esac
	if [ -n "$NODE_NAME" ] && [ -n "$NODE_NAME_PREFIX" ]; then usage_error "give --node-name or --node-name-prefix, not both"; fi
	for v_name in "$NODE_NAME" "$NODE_NAME_PREFIX"; do
		case $v_name in
			*[!a-z0-9.-]*) usage_error "node name '$v_name' must be a lowercase DNS name (a-z, 0-9, '-', '.')" ;;
		esac
	done
	case $POOL in *[!a-z0-9-]*) usage_error "pool '$POOL' must be lowercase letters, digits and '-'" ;; esac
	for v_label in $LABELS; do
		case $v_label in
			?*=*) ;;
			*) usage_error "--label must be key=value, got '$v_label'" ;;
		esac
		case $v_label in
			*[!A-Za-z0-9=./_-]*) usage_error "label '$v_label' has characters a Kubernetes label cannot have" ;;
		esac
	done

	case $INSTALL_ROOT in
		'' | /) INSTALL_ROOT='' ;;
		*) check_path --install-root "$INSTALL_ROOT"; INSTALL_ROOT=${INSTALL_ROOT%/} ;;
	esac
	BIN_DIR=$INSTALL_ROOT/usr/local/bin
	LIB_DIR=$INSTALL_ROOT/usr/local/lib/atoll-agent
	ETC_DIR=$INSTALL_ROOT/etc/atoll-agent
	AGENT_BIN=$BIN_DIR/atoll-agent
	UNINSTALL_BIN=$BIN_DIR/atoll-agent-uninstall.sh
	BUNDLE=$LIB_DIR/atoll-agent.mjs
	RUNTIME_DIR=$LIB_DIR/node
	ENV_FILE=$ETC_DIR/atoll-agent.env
	UNIT_FILE=$INSTALL_ROOT/etc/systemd/system/atoll-agent.service
	OPENRC_FILE=$INSTALL_ROOT/etc/init.d/atoll-agent
	SUPERVISE_FILE=$LIB_DIR/supervise.sh
	SUPERVISE_PID_FILE=$INSTALL_ROOT/run/atoll-agent-supervise.pid
	LOG_FILE=$INSTALL_ROOT/var/log/atoll-agent.log
	if [ -z "$DATA_DIR" ]; then DATA_DIR=$INSTALL_ROOT/var/lib/atoll-agent; fi
	check_path --data-dir "$DATA_DIR"
	DATA_DIR=${DATA_DIR%/}
}

# read_token_file FILE: the first non-empty line of FILE, without blanks (a token is ~110 bytes).
read_token_file() {
	if [ ! -f "$1" ] || [ ! -r "$1" ]; then
		fatal "cannot read the token file '$1': it must be a file this user can read (run the installer as root)"
	fi
	[ "$(wc -c <"$1")" -le 4096 ] || fatal "the token file '$1' is too large to hold a join token"
	TOKEN=$(tr -d ' \t\r' <"$1" | sed -n '/./{p;q;}')
	[ -n "$TOKEN" ] || fatal "the token file '$1' is empty"
}

validate_token() {
	if [ -n "$TOKEN" ] && [ -n "$TOKEN_FILE" ]; then usage_error "give --token or --token-file, not both"; fi
	if [ -z "$TOKEN" ] && [ -z "$TOKEN_FILE" ]; then
		TOKEN=$TOKEN_ENV
		if [ -z "$TOKEN" ]; then TOKEN_FILE=$TOKEN_FILE_ENV; fi
	fi
	if [ -n "$TOKEN_FILE" ]; then read_token_file "$TOKEN_FILE"; fi
	if [ -z "$TOKEN" ]; then
		fatal "no join token: pass --token TOKEN or --token-file FILE, or set ATOLL_TOKEN (on the hub, 'atoll-hub join-command' prints a ready line)"
	fi
	case $TOKEN in
		AT1*) ;;
		*) fatal "the join token is not an atoll token (it should start with AT1): check what you pasted" ;;
	esac
	vt_hash=${TOKEN#AT1}
	vt_hash=${vt_hash%%::*}
	if [ "${#vt_hash}" -ne 64 ]; then
		fatal "the join token is malformed: invalid CA hash length (${#vt_hash}, want 64 hex characters)"
	fi
	if ! printf '%s\n' "$TOKEN" | grep -Eq '^AT1[0-9a-f]{64}::[a-z0-9]{8}\.[a-z0-9]{32}$'; then
		fatal "the join token is malformed (want AT1<64 hex CA hash>::<8 character id>.<32 character secret>)"
	fi
	PIN=$vt_hash
	TOKEN_ID=${TOKEN#*::}
	TOKEN_ID=${TOKEN_ID%%.*}
}

validate_hub_url() {
	if [ -z "$HUB_URL" ]; then
		case $ATOLL_SCRIPT_HUB_URL in
			@@*) fatal "no hub URL: pass --hub https://HUB:9444 (or fetch this script from the hub, which writes its URL in)" ;;
			*) HUB_URL=$ATOLL_SCRIPT_HUB_URL ;;
		esac
	fi
	HUB_URL=${HUB_URL%/}
	case $HUB_URL in
		https://?*) ;;
		*) usage_error "the hub URL must start with https:// (got '$HUB_URL')" ;;
	esac
	case ${HUB_URL#https://} in
		*[!]A-Za-z0-9.:[-]*) usage_error "the hub URL must be https://HOST[:PORT] with no path (got '$HUB_URL')" ;;
	esac
}

# Root, or a sudo that works, checked once here: a sudo that wants a password nobody can type
# would otherwise fail every step that needs root.
check_root() {
	SUDO=''
	if [ "$(id -u)" -eq 0 ]; then return 0; fi
	if ! command -v sudo >/dev/null 2>&1; then
		fatal "this installer needs root: run it as root, or install sudo (curl ... | sudo sh -s - --token ...)"
	fi
	# Without a password (NOPASSWD, or cached), else once at the terminal when there is one.
	if ! sudo -n true >/dev/null 2>&1; then
		if ! { [ -t 2 ] && { : </dev/tty; } 2>/dev/null && sudo -v; }; then
			fatal "this installer needs root, and sudo wants a password it cannot ask for here: run it as root (curl ... | sudo sh -s - --token ...)"
		fi
	fi
	SUDO=sudo
	info "not root: using sudo for the steps that need it"
}

# as_root CMD...: runs CMD as root (through sudo when the script is not root).
as_root() {
	if [ -n "$SUDO" ]; then
		sudo -- "$@"
	else
		"$@"
	fi
}

detect_arch() {
	da_machine=$(uname -m)
	case $da_machine in
		x86_64 | amd64) ARCH=amd64 ;;
		aarch64 | arm64) ARCH=arm64 ;;
		*) fatal "unsupported architecture '$da_machine': atoll agents run on amd64 (x86_64) and arm64 (aarch64)" ;;
	esac
}

detect_service() {
	if [ "$SERVICE" = auto ]; then
		if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
			SERVICE=systemd
		elif command -v openrc-run >/dev/null 2>&1 || [ -x /sbin/openrc-run ]; then
			SERVICE=openrc
		else
			fatal "no init system found (neither systemd nor OpenRC is running here): pass --service supervised (a small sh loop that restarts the agent; not started at boot), or --no-service and start '$AGENT_BIN run' yourself"
		fi
	fi
	MANAGE_SERVICE=false
	if [ "$SERVICE" != none ] && [ -z "$INSTALL_ROOT" ] && [ "$SKIP_START" != true ]; then MANAGE_SERVICE=true; fi
}

detect_tools() {
	if command -v curl >/dev/null 2>&1; then
		DOWNLOADER=curl
	elif command -v wget >/dev/null 2>&1; then
		if ! wget --help 2>&1 | grep -q -- '--ca-certificate'; then
			fatal "this wget (BusyBox's?) cannot check the hub's certificate against a CA file: install curl or GNU wget"
		fi
		DOWNLOADER=wget
	else
		fatal "neither curl nor wget is installed: install one of them"
	fi
	if command -v sha256sum >/dev/null 2>&1; then
		SHA256=sha256sum
	elif command -v shasum >/dev/null 2>&1; then
		SHA256=shasum
	elif command -v openssl >/dev/null 2>&1; then
		SHA256=openssl
	else
		fatal "no SHA-256 tool (sha256sum, shasum or openssl) is installed"
	fi
	for dt_tool in tar gzip mktemp; do
		command -v "$dt_tool" >/dev/null 2>&1 || fatal "$dt_tool is not installed"
	done
}

sha256_of() {
	case $SHA256 in
		sha256sum) sha256sum "$1" | cut -d ' ' -f 1 ;;
		shasum) shasum -a 256 "$1" | cut -d ' ' -f 1 ;;
		openssl) openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1 ;;
	esac
}

setup_tmp() {
	TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/atoll-install.XXXXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	CA_FILE=$TMP_DIR/ca.crt
}

cleanup() {
	cl_rc=$?
	if [ -n "${ROLLBACK_DIR:-}" ] && [ "$ROLLBACK_DIR" != / ]; then
		as_root rm -rf "$ROLLBACK_DIR" || true
	fi
	if [ -n "${TMP_DIR:-}" ]; then rm -rf "$TMP_DIR"; fi
	exit "$cl_rc"
}

# http_fail URL EXIT REASON: exits with a message that names what failed and where.
http_fail() {
	case $DOWNLOADER:$2 in
		curl:35 | curl:51 | curl:53 | curl:54 | curl:58 | curl:59 | curl:60 | curl:77 | curl:80 | curl:83 | curl:90 | curl:91 | wget:5)
			fatal "TLS check of the hub failed at $1: its certificate is not from the pinned CA or does not name this host ($3)" ;;
		curl:5 | curl:6 | curl:7 | curl:28 | curl:52 | curl:55 | curl:56 | wget:4)
			fatal "cannot reach the hub at $1 ($3)" ;;
		*)
			fatal "download of $1 failed ($3)" ;;
	esac
}

# http_get URL OUT [insecure]: GET into OUT. Every request but the first /cacerts uses the pinned CA.
http_get() {
	hg_url=$1
	hg_out=$2
	hg_err=$TMP_DIR/http.err
	if [ "$DOWNLOADER" = curl ]; then
		if [ "${3:-}" = insecure ]; then set -- --insecure; else set -- --cacert "$CA_FILE"; fi
		hg_rc=0
		hg_code=$(curl -sS --proto '=https' --connect-timeout 10 --max-time 900 --retry 2 --retry-delay 1 \
			-H "X-Atoll-Token-Id: $TOKEN_ID" -H "User-Agent: atoll-install/$ATOLL_SCRIPT_VERSION" \
			-o "$hg_out" -w '%{http_code}' "$@" "$hg_url" 2>"$hg_err") || hg_rc=$?
		if [ "$hg_rc" -ne 0 ]; then http_fail "$hg_url" "$hg_rc" "curl exit $hg_rc: $(tail -n 1 "$hg_err")"; fi
	else
		if [ "${3:-}" = insecure ]; then set -- --no-check-certificate; else set -- --ca-certificate="$CA_FILE"; fi
		hg_rc=0
		wget -q -S --https-only --timeout=10 --tries=3 --header="X-Atoll-Token-Id: $TOKEN_ID" \
			--user-agent="atoll-install/$ATOLL_SCRIPT_VERSION" -O "$hg_out" "$@" "$hg_url" 2>"$hg_err" || hg_rc=$?
		hg_code=$(sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9]*\).*/\1/p' "$hg_err" | tail -n 1)
		if [ "$hg_rc" -ne 0 ] && [ "$hg_rc" -ne 8 ]; then http_fail "$hg_url" "$hg_rc" "wget exit $hg_rc: $(tail -n 1 "$hg_err")"; fi
	fi
	if [ "$hg_code" != 200 ]; then
		hg_msg=$(sed -n 's/.*"message" *: *"\([^"]*\)".*/\1/p' "$hg_out" 2>/dev/null | head -n 1)
		fatal "$hg_url answered HTTP ${hg_code:-?}${hg_msg:+: $hg_msg}"
	fi
}

# Trust first: the CA from /cacerts must hash to the token's pin before anything else is used.
trust_hub() {
	info "checking the hub at $HUB_URL against the CA pin in the token (with $DOWNLOADER)"
	http_get "$HUB_URL/cacerts" "$TMP_DIR/cacerts.insecure" insecure
	th_actual=$(sha256_of "$TMP_DIR/cacerts.insecure")
	if [ "$th_actual" != "$PIN" ]; then
		printf '[atoll] error: the hub CA does not match the pin in the join token; refusing to go on\n' >&2
		printf '[atoll]   sha256 of %s/cacerts: %s\n' "$HUB_URL" "$th_actual" >&2
		printf '[atoll]   pin in the token:            %s\n' "$PIN" >&2
		printf '[atoll] check the hub URL and the token (a wrong hub, or someone in between, would look like this)\n' >&2
		exit 1
	fi
	cp "$TMP_DIR/cacerts.insecure" "$CA_FILE"
	# The server must also hold a certificate from that CA, not just serve its PEM.
	http_get "$HUB_URL/cacerts" "$TMP_DIR/cacerts.verified"
	cmp -s "$TMP_DIR/cacerts.insecure" "$TMP_DIR/cacerts.verified" || fatal "$HUB_URL served a different CA over a verified connection"
	info "the hub CA matches the pin (sha256 $PIN)"
}

warn_prerequisites() {
	if [ "$K3S_MODE" != off ]; then
		for wp_ctl in memory pids; do
			if [ -r /proc/cgroups ] && ! awk -v c="$wp_ctl" '$1 == c && $4 == 1 { found = 1 } END { exit !found }' /proc/cgroups; then
				warn "the $wp_ctl cgroup controller is not enabled: the k3s agent (kubelet) needs it (add cgroup_enable=$wp_ctl to the kernel command line)"
			fi
		done
		if [ ! -d /sys/module/wireguard ] && ! { command -v modinfo >/dev/null 2>&1 && modinfo wireguard >/dev/null 2>&1; }; then
			warn "no wireguard kernel module: pod traffic between clouds with flannel's wireguard-native backend will not work"
		fi
	fi
	if [ -z "$NODE_NAME" ] && [ -z "$NODE_NAME_PREFIX" ]; then
		wp_host=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname 2>/dev/null || echo '')
		case $wp_host in
			'' | localhost | localhost.* | ubuntu | debian | fedora | centos | alpine | raspberrypi | vm | server | node)
				warn "the hostname '$wp_host' is unlikely to be unique across servers: pass --node-name or --node-name-prefix (the hub renames clashing nodes with a suffix)" ;;
		esac
	fi
}

node_name_from_prefix() {
	[ -n "$NODE_NAME_PREFIX" ] || return 0
	if [ -r /etc/machine-id ] && [ -s /etc/machine-id ]; then
		nn_suffix=$(printf '%s' "$(cat /etc/machine-id)" | sha256_stdin | cut -c 1-8)
	else
		nn_suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	fi
	NODE_NAME=${NODE_NAME_PREFIX%-}-$nn_suffix
}

sha256_stdin() {
	cat >"$TMP_DIR/stdin.sha"
	sha256_of "$TMP_DIR/stdin.sha"
}

# json_field FILE KEY: a string field of a flat, pretty-printed JSON file (identity.json).
json_field() {
	sed -n "s/^ *\"$2\" *: *\"\\([^\"]*\\)\".*/\\1/p" "$1" | head -n 1
}

# origin_of URL: as the agent stores it (lowercase, no :443).
origin_of() {
	printf '%s\n' "${1%:443}" | tr '[:upper:]' '[:lower:]'
}

# An identity already here: the join step asks the hub whether it still holds (see run_join).
check_identity() {
	JOINED=false
	PREV_NODE_ID=''
	if as_root test -f "$DATA_DIR/identity.json"; then
		as_root cat "$DATA_DIR/identity.json" >"$TMP_DIR/identity.json"
		PREV_NODE_ID=$(json_field "$TMP_DIR/identity.json" nodeId)
		PREV_HUB=$(json_field "$TMP_DIR/identity.json" hubUrl)
		JOINED=true
		if [ "$(origin_of "$PREV_HUB")" != "$(origin_of "$HUB_URL")" ]; then
			info "this server joined $PREV_HUB as $(json_field "$TMP_DIR/identity.json" nodeName) ($PREV_NODE_ID); the token is for $HUB_URL"
		fi
	fi
}

# The agent bundle, checked against the SHA-256 the hub lists (fetched over pinned TLS).
fetch_agent() {
	http_get "$HUB_URL/v1/artifacts/agent/index.txt" "$TMP_DIR/agent.index"
	# Lines: atoll-agent <version> <sha256> <size> <path>
	fa_line=$(awk '$1 == "atoll-agent" { print; exit }' "$TMP_DIR/agent.index")
	[ -n "$fa_line" ] || fatal "the hub at $HUB_URL serves no agent bundle (its build did not make one: run npm ci on the hub)"
	AGENT_VERSION=$(printf '%s\n' "$fa_line" | awk '{ print $2 }')
	AGENT_SHA=$(printf '%s\n' "$fa_line" | awk '{ print $3 }')
	fa_path=$(printf '%s\n' "$fa_line" | awk '{ print $5 }')
	AGENT_NEW=$TMP_DIR/atoll-agent.mjs
	if as_root test -f "$BUNDLE" && [ "$(as_root cat "$BUNDLE" | sha256_stdin)" = "$AGENT_SHA" ]; then
		info "agent $AGENT_VERSION is already installed (sha256 matches)"
		as_root cat "$BUNDLE" >"$AGENT_NEW"
		return 0
	fi
	info "downloading agent $AGENT_VERSION"
	http_get "$HUB_URL$fa_path" "$AGENT_NEW"
	fa_got=$(sha256_of "$AGENT_NEW")
	if [ "$fa_got" != "$AGENT_SHA" ]; then
		fatal "the agent bundle from $HUB_URL$fa_path has sha256 $fa_got, but the hub lists $AGENT_SHA: refusing to run it"
	fi
}

# node_ok BIN: whether BIN is a Node.js >= ATOLL_MIN_NODE that runs here.
node_ok() {
	no_ver=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
	case $no_ver in [0-9]*.[0-9]*.[0-9]*) ;; *) return 1 ;; esac
	no_major=${no_ver%%.*}
	no_minor=${no_ver#*.}
	no_minor=${no_minor%%.*}
	no_want_minor=${ATOLL_MIN_NODE#*.}
	[ "$no_major" -gt "${ATOLL_MIN_NODE%%.*}" ] || { [ "$no_major" -eq "${ATOLL_MIN_NODE%%.*}" ] && [ "$no_minor" -ge "$no_want_minor" ]; }
}

choose_node() {
	if [ "$NODE_RUNTIME" != hub ]; then
		cn_sys=$(command -v node 2>/dev/null || true)
		if [ -n "$cn_sys" ] && node_ok "$cn_sys"; then
			NODE_BIN=$cn_sys
			RUNTIME_NEW=''
			info "using the system Node.js $("$cn_sys" -p 'process.versions.node') at $cn_sys"
			return 0
		fi
		if [ "$NODE_RUNTIME" = system ]; then
			fatal "--node system, but there is no Node.js >= $ATOLL_MIN_NODE in PATH${cn_sys:+ ($cn_sys is older)}"
		fi
	fi
	http_get "$HUB_URL/v1/artifacts/node/index.txt" "$TMP_DIR/node.index"
	# Lines: node <version> <arch> <sha256> <size> <path>, best first.
	cn_line=$(awk -v a="$ARCH" '$1 == "node" && $3 == a { print; exit }' "$TMP_DIR/node.index")
	if [ -z "$cn_line" ]; then
		fatal "there is no Node.js >= $ATOLL_MIN_NODE here and the hub at $HUB_URL serves no Node.js runtime for $ARCH: install Node.js, or give the hub one"
	fi
	cn_version=$(printf '%s\n' "$cn_line" | awk '{ print $2 }')
	RUNTIME_SHA=$(printf '%s\n' "$cn_line" | awk '{ print $4 }')
	cn_path=$(printf '%s\n' "$cn_line" | awk '{ print $6 }')
	NODE_BIN=$RUNTIME_DIR/bin/node
	if as_root test -x "$NODE_BIN" && [ "$(as_root cat "$RUNTIME_DIR/runtime.sha256" 2>/dev/null || true)" = "$RUNTIME_SHA" ]; then
		info "Node.js $cn_version for $ARCH from the hub is already installed"
		RUNTIME_NEW=''
		return 0
	fi
	info "downloading Node.js $cn_version for $ARCH from the hub"
	http_get "$HUB_URL$cn_path" "$TMP_DIR/node.tgz"
	cn_got=$(sha256_of "$TMP_DIR/node.tgz")
	if [ "$cn_got" != "$RUNTIME_SHA" ]; then
		fatal "the Node.js runtime from $HUB_URL$cn_path has sha256 $cn_got, but the hub lists $RUNTIME_SHA: refusing to use it"
	fi
	mkdir "$TMP_DIR/node"
	tar -xzf "$TMP_DIR/node.tgz" -C "$TMP_DIR/node" package/bin/node || fatal "the Node.js runtime archive from the hub has no package/bin/node"
	RUNTIME_NEW=$TMP_DIR/node/package/bin/node
	node_ok "$RUNTIME_NEW" || fatal "the Node.js $cn_version runtime from the hub does not run on this $ARCH server"
}

# The join runs from the downloaded files, before anything is installed: when the hub refuses it
# (expired token, wrong pool ...), nothing is left behind. On a server that already has an identity
# the agent first asks the hub: one it still accepts is kept (the token is not used); one it refuses
# (the node was removed) or one from another hub is replaced by a join with the token.
run_join() {
	JOINED_NOW=true
	rj_node=${RUNTIME_NEW:-$NODE_BIN}
	# When the join fails, remove what it made: the data dir and any parents that were not there.
	if ! as_root test -d "$DATA_DIR"; then
		ROLLBACK_DIR=$DATA_DIR
		while [ "$(dirname "$ROLLBACK_DIR")" != / ] && ! as_root test -d "$(dirname "$ROLLBACK_DIR")"; do ROLLBACK_DIR=$(dirname "$ROLLBACK_DIR"); done
	fi
	# Secrets go through a 0600 env file, never the command line (sudo logs command lines).
	rj_env=$TMP_DIR/join.env
	case ${ATOLL_LOG_LEVEL:-warn} in trace | debug | info | warn | error | fatal) rj_level=${ATOLL_LOG_LEVEL:-warn} ;; *) rj_level=warn ;; esac
	(umask 077 && printf 'ATOLL_TOKEN=%s\nATOLL_LOG_LEVEL=%s\n' "$TOKEN" "$rj_level" >"$rj_env")
	set -- join --no-run --hub "$HUB_URL" --data-dir "$DATA_DIR"
	if [ -n "$POOL" ]; then set -- "$@" --pool "$POOL"; fi
	if [ -n "$NODE_NAME" ]; then set -- "$@" --node-name "$NODE_NAME"; fi
	if [ -n "$K3S_MODE" ]; then set -- "$@" --k3s "$K3S_MODE"; fi
	for rj_label in $LABELS; do set -- "$@" --label "$rj_label"; done
	info "joining the hub at $HUB_URL"
	rj_rc=0
	# shellcheck disable=SC2016 # expanded by the inner sh
	as_root sh -c 'set -a && . "$1" && set +a && shift && exec "$@"' atoll-join "$rj_env" "$rj_node" "$AGENT_NEW" "$@" </dev/null || rj_rc=$?
	rm -f "$rj_env"
	if [ "$rj_rc" -ne 0 ]; then
		if [ "$JOINED" = true ]; then fatal "the join failed (see the agent's message above); the identity here was left as it was"; fi
		fatal "the join failed (see the agent's message above); nothing was installed"
	fi
	ROLLBACK_DIR=''
	as_root cat "$DATA_DIR/identity.json" >"$TMP_DIR/identity.json"
	NODE_ID=$(json_field "$TMP_DIR/identity.json" nodeId)
	JOINED_NAME=$(json_field "$TMP_DIR/identity.json" nodeName)
	if [ "$JOINED" = true ] && [ "$NODE_ID" = "$PREV_NODE_ID" ]; then
		JOINED_NOW=false
		info "already joined as $JOINED_NAME ($NODE_ID): not joining again"
		if [ -n "$POOL$NODE_NAME$NODE_NAME_PREFIX$LABELS" ]; then
			info "(pool, node name and labels apply at the first join only; change them on the hub)"
		fi
	elif [ "$JOINED" = true ]; then
		info "joined again as $JOINED_NAME ($NODE_ID), replacing $PREV_NODE_ID"
	fi
}

# put_file SRC DEST MODE: installs SRC as DEST unless it is already the same (contents and mode).
# Sets WROTE, and CHANGED=true when it wrote.
put_file() {
	WROTE=false
	if as_root test -f "$2" && as_root cmp -s "$1" "$2"; then
		pf_mode=$(as_root stat -c '%a' "$2" 2>/dev/null || echo "$3")
		if [ "$pf_mode" = "${3#0}" ]; then return 0; fi
	fi
	WROTE=true
	as_root mkdir -p "$(dirname "$2")"
	as_root cp "$1" "$2.atoll-new"
	as_root chmod "$3" "$2.atoll-new"
	as_root mv -f "$2.atoll-new" "$2"
	CHANGED=true
	info "wrote $2"
}

# render: fills the @ATOLL_...@ placeholders of a template (stdin) with this install's paths.
render() {
	sed -e "s|@ATOLL_ROOT@|$INSTALL_ROOT|g" \
		-e "s|@ATOLL_BIN@|$AGENT_BIN|g" \
		-e "s|@ATOLL_BIN_DIR@|$BIN_DIR|g" \
		-e "s|@ATOLL_LIB_DIR@|$LIB_DIR|g" \
		-e "s|@ATOLL_ETC_DIR@|$ETC_DIR|g" \
		-e "s|@ATOLL_ENV_FILE@|$ENV_FILE|g" \
		-e "s|@ATOLL_DATA_DIR@|$DATA_DIR|g" \
		-e "s|@ATOLL_UNIT_FILE@|$UNIT_FILE|g" \
		-e "s|@ATOLL_OPENRC_FILE@|$OPENRC_FILE|g" \
		-e "s|@ATOLL_LOG_FILE@|$LOG_FILE|g" \
		-e "s|@ATOLL_SUPERVISE_PID_FILE@|$SUPERVISE_PID_FILE|g" \
		-e "s|@ATOLL_SERVICE@|$SERVICE|g" \
		-e "s|@ATOLL_MANAGE_SERVICE@|$MANAGE_SERVICE|g" \
		-e "s|@ATOLL_HUB_URL@|$HUB_URL|g"
}

install_files() {
	CHANGED=false
	as_root mkdir -p "$BIN_DIR" "$LIB_DIR" "$ETC_DIR"
	as_root chmod 0700 "$ETC_DIR"
	put_file "$AGENT_NEW" "$BUNDLE" 0644
	if [ -n "${RUNTIME_NEW:-}" ]; then
		put_file "$RUNTIME_NEW" "$NODE_BIN" 0755
		printf '%s' "$RUNTIME_SHA" >"$TMP_DIR/runtime.sha256"
		put_file "$TMP_DIR/runtime.sha256" "$RUNTIME_DIR/runtime.sha256" 0644
	elif [ "$NODE_BIN" != "$RUNTIME_DIR/bin/node" ] && as_root test -d "$RUNTIME_DIR"; then
		as_root rm -rf "$RUNTIME_DIR"
		CHANGED=true
	fi

	case $NODE_BIN in
		*[!A-Za-z0-9/._+-]*) fatal "the Node.js path '$NODE_BIN' has characters the wrapper cannot carry: use --node hub" ;;
	esac
	cat >"$TMP_DIR/wrapper" <<EOF
#!/bin/sh
# atoll-agent, written by the atoll installer: runs the agent bundle with its Node.js.
# After a self-upgrade (upgrade-pending beside the bundle), a new bundle that has not reached the
# hub by the deadline is swapped back for the previous one here, even one that cannot run at all.
ATOLL_AGENT_DATA_DIR=\${ATOLL_AGENT_DATA_DIR:-$DATA_DIR}
export ATOLL_AGENT_DATA_DIR
# 'atoll-agent supervise': keep 'atoll-agent run' going without an init system (supervise.sh).
if [ "\${1:-}" = supervise ]; then
	shift
	exec /bin/sh $SUPERVISE_FILE "\$@"
fi
if [ "\${1:-}" = run ] && [ -f $LIB_DIR/upgrade-pending ] && [ -f $BUNDLE.previous ]; then
	deadline=\$(sed -n 's/^ATOLL_UPGRADE_DEADLINE=\\([0-9][0-9]*\\)\$/\\1/p' $LIB_DIR/upgrade-pending)
	if [ -z "\$deadline" ] || [ "\$(date +%s)" -ge "\$deadline" ]; then
		mv -f $BUNDLE.previous $BUNDLE && mv -f $LIB_DIR/upgrade-pending $LIB_DIR/upgrade-rolled-back
		echo 'atoll-agent: the upgraded agent did not reach the hub in time; running the previous bundle' >&2
	fi
fi
exec $NODE_BIN $BUNDLE "\$@"
EOF
	put_file "$TMP_DIR/wrapper" "$AGENT_BIN" 0755

	{
		printf '# atoll agent settings, written by the atoll installer (0600: keep secrets here, never in the unit).\n'
		printf '# The join token is not kept: after the join the node authenticates with its key and certificate.\n'
		printf 'ATOLL_HUB_URL=%s\n' "$HUB_URL"
		printf 'ATOLL_AGENT_DATA_DIR=%s\n' "$DATA_DIR"
		if [ -n "$K3S_MODE" ]; then printf 'ATOLL_AGENT_K3S=%s\n' "$K3S_MODE"; fi
	} >"$TMP_DIR/env"
	put_file "$TMP_DIR/env" "$ENV_FILE" 0600

	uninstall_template | render >"$TMP_DIR/uninstall"
	put_file "$TMP_DIR/uninstall" "$UNINSTALL_BIN" 0755

	supervise_template | render >"$TMP_DIR/supervise"
	put_file "$TMP_DIR/supervise" "$SUPERVISE_FILE" 0755

	case $SERVICE in
		systemd)
			systemd_unit_template | render >"$TMP_DIR/unit"
			put_file "$TMP_DIR/unit" "$UNIT_FILE" 0644
			UNIT_WRITTEN=$WROTE
			;;
		openrc)
			openrc_template | render >"$TMP_DIR/openrc"
			put_file "$TMP_DIR/openrc" "$OPENRC_FILE" 0755
			;;
	esac
}

start_service() {
	if [ "$SERVICE" = none ]; then
		info "--no-service: nothing was started. Start the agent the way the unit would:"
		info "  (set -a; . $ENV_FILE; set +a; exec $AGENT_BIN run)"
		return 0
	fi
	if [ "$MANAGE_SERVICE" != true ]; then
		info "wrote the $SERVICE service files; not enabling or starting them (--install-root or --no-start)"
		return 0
	fi
	case $SERVICE in
		systemd)
			if [ "${UNIT_WRITTEN:-false}" = true ]; then as_root systemctl daemon-reload; fi
			as_root systemctl enable atoll-agent.service >/dev/null 2>&1 || as_root systemctl enable atoll-agent.service
			if [ "$CHANGED" = true ]; then
				as_root systemctl restart atoll-agent.service
			else
				as_root systemctl start atoll-agent.service
			fi
			;;
		openrc)
			as_root rc-update add atoll-agent default >/dev/null
			if [ "$CHANGED" = true ]; then
				as_root rc-service atoll-agent restart
			else
				as_root rc-service atoll-agent start
			fi
			;;
		supervised)
			start_supervisor
			info "the agent runs under 'atoll-agent supervise' (log: $LOG_FILE); no init system here, so it does not start at boot: run '$AGENT_BIN supervise' from your boot scripts"
			return 0
			;;
	esac
	info "the atoll-agent service is enabled and running"
}

# The running supervisor of this install (its pid file names a process that runs our supervise.sh).
supervisor_pid() {
	sp_pid=$(as_root cat "$SUPERVISE_PID_FILE" 2>/dev/null || true)
	case $sp_pid in '' | *[!0-9]*) return 0 ;; esac
	if as_root cat "/proc/$sp_pid/cmdline" 2>/dev/null | tr '\0' '\n' | grep -Fxq "$SUPERVISE_FILE"; then echo "$sp_pid"; fi
}

# Starts 'atoll-agent supervise' in the background, in its own session, with a clean environment;
# one already running is restarted when something changed, else left alone.
start_supervisor() {
	ss_pid=$(supervisor_pid)
	if [ -n "$ss_pid" ] && [ "$CHANGED" = true ]; then
		as_root kill -TERM "$ss_pid" 2>/dev/null || true
		ss_i=0
		while [ "$ss_i" -lt 60 ] && as_root kill -0 "$ss_pid" 2>/dev/null; do sleep 0.5; ss_i=$((ss_i + 1)); done
		ss_pid=''
	fi
	[ -z "$ss_pid" ] || return 0
	as_root mkdir -p "$(dirname "$LOG_FILE")"
	# shellcheck disable=SC2016 # expanded by the inner sh
	as_root sh -c 'cd / && if command -v setsid >/dev/null 2>&1; then set -- setsid "$@"; fi; env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/ nohup "$@" </dev/null >>"$0" 2>&1 &' \
		"$LOG_FILE" "$AGENT_BIN" supervise
}

# Templates, written in by the hub from its deploy/ folder.
systemd_unit_template() {
	cat <<'ATOLL_TEMPLATE_END'
@@ATOLL_SYSTEMD_UNIT@@
ATOLL_TEMPLATE_END
}

openrc_template() {
	cat <<'ATOLL_TEMPLATE_END'
@@ATOLL_OPENRC_SCRIPT@@
ATOLL_TEMPLATE_END
}

supervise_template() {
	cat <<'ATOLL_TEMPLATE_END'
@@ATOLL_SUPERVISE_SCRIPT@@
ATOLL_TEMPLATE_END
}

uninstall_template() {
	cat <<'ATOLL_TEMPLATE_END'
@@ATOLL_UNINSTALL_SCRIPT@@
ATOLL_TEMPLATE_END
}

main() {
	load_settings
	parse_args "$@"
	validate_settings
	validate_token
	validate_hub_url
	check_root
	detect_arch
	detect_service
	detect_tools
	setup_tmp
	trust_hub
	warn_prerequisites
	node_name_from_prefix
	check_identity
	fetch_agent
	choose_node
	run_join
	install_files
	# A new identity is a change even where every file stayed the same: the service restarts with it.
	if [ "$JOINED_NOW" = true ]; then CHANGED=true; fi
	start_service
	if [ "$CHANGED" = false ]; then
		info "nothing changed: node $JOINED_NAME ($NODE_ID) was already installed as it is"
	else
		info "installed: node $JOINED_NAME ($NODE_ID) of $HUB_URL"
	fi
	info "status: $AGENT_BIN status    uninstall: $UNINSTALL_BIN"
}

main "$@"
}
