#!/usr/bin/env bash
# Measures the local test cluster (testbed/): build time from the cache, start
# time from stopped to ready, and idle memory (RSS of its components).
#
#   benchmarks/testbed_bench.sh          cached build, start (fresh and restart), idle memory
#   benchmarks/testbed_bench.sh --cold   also a cold build: empty Go build cache and binary
#                                        cache (temporary ones; yours are not touched; the Go
#                                        module download cache is kept)
#
# The benchmark runs its own cluster in a temporary state directory on ports of
# its own (apiserver 17443 etc.), so a testbed already running is left alone.
set -euo pipefail

cold=0
for arg in "$@"; do
    case "$arg" in
        --cold) cold=1 ;;
        -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TB="$REPO/testbed"
work="$(mktemp -d "${TMPDIR:-/tmp}/larr1-testbed-bench.XXXXXX")"
export LARR1_TESTBED_DIR="$work/state"
export LARR1_TESTBED_APISERVER_PORT=17443 LARR1_TESTBED_ETCD_CLIENT_PORT=17379
export LARR1_TESTBED_ETCD_PEER_PORT=17380 LARR1_TESTBED_KCM_PORT=17257
export LARR1_TESTBED_SCHEDULER_PORT=17259 LARR1_TESTBED_KWOK_PORT=17260
export LARR1_TESTBED_STORAGE_PORT=17261
cleanup() {
    "$TB/stop" --wipe >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
results=()
report() { results+=("$(printf '%-34s %s' "$1" "$2")"); printf '== %-31s %s\n' "$1" "$2"; }

if ((cold)); then
    echo "== cold build (temporary empty GOCACHE and binary cache) ..."
    t=$(now)
    GOCACHE="$work/gocache" LARR1_CACHE_DIR="$work/cache" "$TB/build" >/dev/null
    report "cold build" "$(elapsed "$t") s"
    rm -rf "$work/gocache" "$work/cache"
fi

"$TB/build" >/dev/null 2>&1 || "$TB/build" >/dev/null
t=$(now)
"$TB/build" >/dev/null 2>&1
report "cached build" "$(elapsed "$t") s"

t=$(now)
"$TB/start" >/dev/null 2>"$work/start.log" || { cat "$work/start.log" >&2; exit 1; }
report "start (new state dir)" "$(elapsed "$t") s"

"$TB/stop" >/dev/null 2>&1
t=$(now)
"$TB/start" >/dev/null 2>"$work/start.log" || { cat "$work/start.log" >&2; exit 1; }
report "start (stopped -> ready)" "$(elapsed "$t") s"

t=$(now)
"$TB/start" >/dev/null 2>&1
report "start (already running)" "$(elapsed "$t") s"

echo "== letting the cluster idle for 30 s ..."
sleep 30
total=0
for c in etcd kube-apiserver kube-controller-manager kube-scheduler kwok testbed-storage; do
    pid="$(cat "$LARR1_TESTBED_DIR/run/$c.pid")"
    kb="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")"
    total=$((total + kb))
    report "idle RSS $c" "$((kb / 1024)) MiB"
done
report "idle RSS total" "$((total / 1024)) MiB"

echo
echo "summary ($(nproc) cores, $(go version | awk '{print $3}')):"
printf '  %s\n' "${results[@]}"
