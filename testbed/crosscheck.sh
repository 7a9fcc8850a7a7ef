#!/usr/bin/env bash
# Cross-checks `testbed load` against the tools people already trust: ab (Debian apache2-utils)
# and wrk (Debian wrk), closed loop, same server, same connections, same length, on the same
# core. The server runs pinned to core 0, every load generator pinned to core 1, all over
# 127.0.0.1. Each tool runs REPS times, interleaved (so drift on a shared machine hits all three
# alike); the table shows medians and each tool's difference from testbed.
#
# Servers: Debian's nginx (one worker, a private config in a temp dir, a 1 KiB file), with
# keep-alive and with a connection per request; and any server kinds given in KINDS, started with
# `testbed serve` (or SERVE_BIN's): in-tree kinds run SERVE_ARGS' handler and are asked for `/`,
# Apache serves its 1 KiB `/index.html`, uvicorn W2's `/sleep/0.1`. Every kind, as the README's
# table was made:
#   KINDS="tokio:1 threads pool:8 may apache-prefork apache-event uvicorn-async uvicorn-def"
#
#   bash testbed/crosscheck.sh            # defaults: C=50 SECS=5 REPS=3 KINDS="tokio:1 threads"
#   C=100 SECS=4 REPS=3 KINDS="" bash testbed/crosscheck.sh   # nginx only
#   NGINX=0 KINDS="apache-event" bash testbed/crosscheck.sh    # without the nginx points
#
# Pass: throughput within 10 % and p50 within 15 % of testbed's, for both ab and wrk.
# Bounded: every run is SECS long (ab also stops after its -n), servers are stopped by pid.
set -euo pipefail

C=${C:-50}
SECS=${SECS:-5}
REPS=${REPS:-3}
KINDS=${KINDS-tokio:1 threads}
SERVER_CORE=${SERVER_CORE:-0}
LOAD_CORE=${LOAD_CORE:-1}

need() {
    command -v "$1" >/dev/null || {
        echo "crosscheck: $1 is missing; install it with: apt-get install -y $2" >&2
        exit 2
    }
}
need ab apache2-utils
need wrk wrk
need nginx nginx
need jq jq
need taskset util-linux

root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release -q -p testbed --manifest-path "$root/Cargo.toml"
TB="$root/target/release/testbed"
# The binary that serves KINDS (another build of testbed, if this one has no `serve` yet).
SERVE_BIN=${SERVE_BIN:-$TB}
# Their handler's work: enough that the server, not the client, sets the pace.
SERVE_ARGS=${SERVE_ARGS:---cpu 50us}

tmp=$(mktemp -d)
server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; rm -rf "$tmp"' EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "crosscheck: nothing listens on 127.0.0.1:$1" >&2
    exit 1
}

start_nginx() {
    local port=$1
    mkdir -p "$tmp/www"
    head -c 1024 /dev/zero | tr '\0' 'x' >"$tmp/www/index.html"
    cat >"$tmp/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$port backlog=4096;
        root $tmp/www;
    }
}
EOF
    taskset -c "$SERVER_CORE" nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" &
    server_pid=$!
    wait_port "$port"
}

# The handler arguments a kind takes (third-party servers have their own fixed page).
kind_args() {
    case $1 in
    apache-* | uvicorn-*) echo "" ;;
    *) echo "$SERVE_ARGS" ;;
    esac
}
# The path a kind serves.
kind_path() {
    case $1 in
    apache-*) echo /index.html ;;
    uvicorn-*) echo /sleep/0.1 ;;
    *) echo / ;;
    esac
}

start_kind() {
    local kind=$1 port=$2
    # shellcheck disable=SC2046 # the handler arguments are words
    taskset -c "$SERVER_CORE" "$SERVE_BIN" serve --server "$kind" --port "$port" --cores 1 $(kind_args "$kind") >"$tmp/serve.log" 2>&1 &
    server_pid=$!
    wait_port "$port"
}

# CPU ticks (user + system) the server has used so far, its threads included.
server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

# Runs one tool (its arguments after the first) and appends to $1 its own line ("rps p50 errors
# load_bound") followed by how busy the server and the client were during the run, in % of
# one core: a tool that leaves the server idle shows it here, whatever it reports.
measured() {
    local out=$1
    shift
    local t0 w0 line
    t0=$(server_ticks)
    w0=$(date +%s%N)
    # `times`' second line is the CPU of the subshell's waited-for children: the tool.
    line=$("$@" && times >"$tmp/time.txt")
    local ticks=$(($(server_ticks) - t0)) wall_ns=$(($(date +%s%N) - w0))
    local tck
    tck=$(getconf CLK_TCK)
    awk -v l="$line" -v t="$ticks" -v w="$wall_ns" -v k="$tck" -v f="$tmp/time.txt" 'BEGIN {
        getline c < f; getline c < f; split(c, cpu, " ")
        printf "%s %.0f %.0f\n", l, t / k / (w / 1e9) * 100, (secs(cpu[1]) + secs(cpu[2])) / (w / 1e9) * 100
    }
    function secs(x,   m) { m = x; sub(/m.*/, "", m); sub(/^[0-9]+m/, "", x); sub(/s$/, "", x); return m * 60 + x
    }' >>"$out"
}

# Each prints "rps p50_ms errors load_bound".
run_testbed() { # url keepalive(0/1)
    local ka=()
    [[ $2 == 1 ]] && ka=(--keepalive)
    "$TB" load "$1" --concurrency "$C" --duration "${SECS}s" "${ka[@]}" --cores "$LOAD_CORE" --json \
        | jq -r '"\(.rps) \(.p50_ms) \(.errors_total + .timeouts_total) \(.load_bound)"'
}
run_ab() {
    local ka=()
    [[ $2 == 1 ]] && ka=(-k)
    taskset -c "$LOAD_CORE" ab "${ka[@]}" -q -c "$C" -t "$SECS" -n 100000000 -e "$tmp/ab.csv" "$1" >"$tmp/ab.out" 2>&1
    local rps p50 failed
    rps=$(awk '/^Requests per second:/ {print $4}' "$tmp/ab.out")
    p50=$(awk -F, '$1 == "50" {print $2}' "$tmp/ab.csv")
    failed=$(awk '/^Failed requests:/ {print $3}' "$tmp/ab.out")
    echo "$rps $p50 ${failed:-?} -"
}
run_wrk() {
    local close=()
    [[ $2 == 0 ]] && close=(-H "Connection: close")
    taskset -c "$LOAD_CORE" wrk -t1 -c "$C" -d "${SECS}s" --latency "${close[@]}" "$1" >"$tmp/wrk.out" 2>&1
    awk '
        /^Requests\/sec:/ { rps = $2 }
        /^ +50%/ { v = $2; unit = v; gsub(/[0-9.]/, "", unit); sub(/[a-z]+$/, "", v)
                   p50 = (unit == "us") ? v / 1000 : (unit == "s") ? v * 1000 : v }
        /Socket errors|Non-2xx/ { errors = errors $0 }
        END { printf "%s %s %s -\n", rps, p50, (errors == "" ? 0 : "see-wrk") }
    ' "$tmp/wrk.out"
}

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

rows=()
point() { # label url keepalive
    local label=$1 url=$2 ka=$3
    : >"$tmp/testbed.txt"
    : >"$tmp/ab.txt"
    : >"$tmp/wrk.txt"
    for _ in $(seq "$REPS"); do
        measured "$tmp/testbed.txt" run_testbed "$url" "$ka"
        measured "$tmp/ab.txt" run_ab "$url" "$ka"
        measured "$tmp/wrk.txt" run_wrk "$url" "$ka"
    done
    local tb_rps tb_p50
    tb_rps=$(cut -d' ' -f1 "$tmp/testbed.txt" | median)
    tb_p50=$(cut -d' ' -f2 "$tmp/testbed.txt" | median)
    for tool in testbed ab wrk; do
        local rps p50 errs sbusy cbusy
        rps=$(cut -d' ' -f1 "$tmp/$tool.txt" | median)
        p50=$(cut -d' ' -f2 "$tmp/$tool.txt" | median)
        errs=$(cut -d' ' -f3 "$tmp/$tool.txt" | paste -sd/)
        sbusy=$(cut -d' ' -f5 "$tmp/$tool.txt" | median)
        cbusy=$(cut -d' ' -f6 "$tmp/$tool.txt" | median)
        rows+=("$(awk -v l="$label" -v t="$tool" -v r="$rps" -v p="$p50" -v br="$tb_rps" -v bp="$tb_p50" -v e="$errs" -v sb="$sbusy" -v cb="$cbusy" '
            BEGIN {
                dr = (r - br) / br * 100; dp = (p - bp) / bp * 100
                ok = (t == "testbed") ? "" : ((dr < 10 && dr > -10 && dp < 15 && dp > -15) ? "pass" : "FAIL")
                printf "| %s | %s | %.0f | %+.1f %% | %.3f | %+.1f %% | %s %% | %s %% | %s | %s |", l, t, r, dr, p, dp, sb, cb, e, ok
            }')")
    done
}

if [[ ${NGINX:-1} == 1 ]]; then
    port=$(free_port)
    start_nginx "$port"
    point "nginx, keep-alive, c=$C" "http://127.0.0.1:$port/index.html" 1
    point "nginx, a connection per request, c=$C" "http://127.0.0.1:$port/index.html" 0
    stop_server
fi

for kind in $KINDS; do
    port=$(free_port)
    start_kind "$kind" "$port"
    point "$kind $(kind_args "$kind"), keep-alive, c=$C" "http://127.0.0.1:$port$(kind_path "$kind")" 1
    stop_server
done

echo
echo "Closed loop, server on core $SERVER_CORE, load on core $LOAD_CORE, ${SECS}s per run, median of $REPS interleaved runs ($(nproc) cores, $(uname -r), load average at the end $(cut -d" " -f1-3 /proc/loadavg))"
echo
echo "| point | tool | requests/s | vs testbed | p50 ms | vs testbed | server busy | client busy | errors per run | within 10 % / 15 % |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
