# Shared settings of the testbed scripts. Sourced, not executed.
# shellcheck shell=bash

TESTBED_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$TESTBED_SRC/.." && pwd)"

CACHE_ROOT="${LARR1_CACHE_DIR:-$HOME/.cache/larr1}/testbed"
STATE_DIR="${LARR1_TESTBED_DIR:-$REPO_ROOT/.testbed}"

# Ports, all on 127.0.0.1. Chosen away from a real cluster's defaults.
APISERVER_PORT="${LARR1_TESTBED_APISERVER_PORT:-16443}"
ETCD_CLIENT_PORT="${LARR1_TESTBED_ETCD_CLIENT_PORT:-12379}"
ETCD_PEER_PORT="${LARR1_TESTBED_ETCD_PEER_PORT:-12380}"
KCM_PORT="${LARR1_TESTBED_KCM_PORT:-16257}"
SCHEDULER_PORT="${LARR1_TESTBED_SCHEDULER_PORT:-16259}"
KWOK_PORT="${LARR1_TESTBED_KWOK_PORT:-16260}"
STORAGE_PORT="${LARR1_TESTBED_STORAGE_PORT:-16261}"

NODE_COUNT="${LARR1_TESTBED_NODE_COUNT:-2}"
GPU_RESOURCES="${LARR1_TESTBED_GPU_RESOURCES:-nvidia.com/gpu=4,nvidia.com/gpumem=98304}"

# The components, in start order.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok testbed-storage)

export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] error: %s\n' "$*" >&2; exit 1; }

sha() { sha256sum | cut -c1-16; }

# Hash of everything that decides the control-plane binaries.
core_hash() {
    cat "$TESTBED_SRC/go.mod" "$TESTBED_SRC/go.sum" "$TESTBED_SRC/build" | sha
}

# Hash of the storage program's sources (rebuilt on its own, it is small).
storage_hash() {
    cat "$TESTBED_SRC/go.mod" "$TESTBED_SRC/go.sum" "$TESTBED_SRC"/cmd/testbed-storage/*.go | sha
}

bin_dir() { printf '%s/%s/bin\n' "$CACHE_ROOT" "$(core_hash)"; }

pid_file() { printf '%s/run/%s.pid\n' "$STATE_DIR" "$1"; }
log_file() { printf '%s/logs/%s.log\n' "$STATE_DIR" "$1"; }

# Prints the pid of a component if it is running and is the process we started
# from this state directory. Falls back to looking for the process when its pid
# file is gone, and rewrites the pid file then.
running_pid() {
    local f pid cmd
    f="$(pid_file "$1")"
    if [[ -f "$f" ]]; then
        pid="$(cat "$f")"
        if [[ -n "$pid" ]] && is_our_process "$1" "$pid"; then
            printf '%s\n' "$pid"
            return 0
        fi
    fi
    for cmd in /proc/[0-9]*/cmdline; do
        pid="${cmd#/proc/}"; pid="${pid%/cmdline}"
        if is_our_process "$1" "$pid"; then
            mkdir -p "$(dirname "$f")"
            printf '%s\n' "$pid" >"$f"
            printf '%s\n' "$pid"
            return 0
        fi
    done 2>/dev/null
    return 1
}

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z ]]
}

# is_our_process NAME PID: PID runs a testbed binary NAME with this state dir.
is_our_process() {
    local argv0="" args
    alive "$2" || return 1
    # argv[0] first, without forking: this runs for every process when searching.
    read -r -d '' argv0 <"/proc/$2/cmdline" 2>/dev/null || [[ -n "$argv0" ]] || return 1
    [[ "$argv0" == "$CACHE_ROOT/"*"/bin/$1" ]] || return 1
    args="$(tr '\0' '\n' <"/proc/$2/cmdline" 2>/dev/null)" || return 1
    [[ "$args" == *"$STATE_DIR/"* ]]
}

KUBECONFIG_FILE="$STATE_DIR/kubeconfig"
PKI="$STATE_DIR/pki"

# curl against a component of ours, authenticated as the admin.
admin_curl() {
    curl -sS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"
}

apiserver_ready() {
    [[ -f "$PKI/admin.crt" ]] && [[ "$(admin_curl "https://127.0.0.1:$APISERVER_PORT/readyz" 2>/dev/null)" == ok ]]
}

# Health URL of each component (all on loopback).
health_url() {
    case "$1" in
        etcd) echo "https://127.0.0.1:$ETCD_CLIENT_PORT/health" ;;
        kube-apiserver) echo "https://127.0.0.1:$APISERVER_PORT/readyz" ;;
        kube-controller-manager) echo "https://127.0.0.1:$KCM_PORT/healthz" ;;
        kube-scheduler) echo "https://127.0.0.1:$SCHEDULER_PORT/healthz" ;;
        kwok) echo "http://127.0.0.1:$KWOK_PORT/healthz" ;;
        testbed-storage) echo "http://127.0.0.1:$STORAGE_PORT/healthz" ;;
    esac
}

# Prints "ok" when the component answers its health check.
component_healthy() {
    local out
    case "$1" in
        kube-controller-manager | kube-scheduler)
            # They serve a self-signed certificate of their own.
            out="$(curl -sS --max-time 5 -k "$(health_url "$1")" 2>/dev/null)" ;;
        *) out="$(admin_curl "$(health_url "$1")" 2>/dev/null)" ;;
    esac
    [[ "$out" == ok || "$out" == *'"health":"true"'* ]]
}

kubectl_() { "$(bin_dir)/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }
