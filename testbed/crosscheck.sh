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
#   TB_ARGS="--spin 20us" KINDS="" bash testbed/crosscheck.sh  # testbed's client spinning
#
# Pass: throughput within 10 % and p50 within 15 % of testbed's, for both ab and wrk. wrk 4.x
# prints its latencies after a coordinated-omission correction (`stats_correct`: each sample
# of at least two cycles C / throughput adds copies one cycle apart down to one cycle), which
# ab and testbed's p50 do not have; so wrk's p50 is compared with testbed's own samples
# corrected the same way (`wrk_corrected` in `testbed load --json`). Where nothing is two
# cycles long the two are the same.
# The table also has each tool's mean latency beside the closed loop's C / throughput (Little's
# law: each cycle is one latency plus the client's turn-around, so no client that measures its
# requests can read a mean above it, whatever the distribution's shape; ab's "mean" is
# C × run time / requests by definition and checks nothing). When ab's and wrk's own p50s are more than 1.15 / 0.85 = 1.35x apart, no figure can be
# within 15 % of both; the script says so under the table.
# Bounded: every run is SECS long (ab also stops after its -n), servers are stopped by pid.
set -euo pipefail

C=${C:-50}
SECS=${SECS:-5}
REPS=${REPS:-3}
KINDS=${KINDS-tokio:1 threads}
# Extra flags for `testbed load`, e.g. TB_ARGS="--spin 20us".
TB_ARGS=${TB_ARGS:-}
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
# load_bound mean wrk_p50") followed by how busy the server and the client were during the run, in % of
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

# Each prints "rps p50_ms errors load_bound mean_ms wrk_p50_ms"; the last is testbed's own
# samples after wrk's correction ("-" for ab and wrk).
run_testbed() { # url keepalive(0/1)
    local ka=()
    [[ $2 == 1 ]] && ka=(--keepalive)
    # shellcheck disable=SC2086 # TB_ARGS are words
    "$TB" load "$1" --concurrency "$C" --duration "${SECS}s" "${ka[@]}" --cores "$LOAD_CORE" $TB_ARGS --json \
        | jq -r '"\(.rps) \(.p50_ms) \(.errors_total + .timeouts_total) \(.load_bound) \(.mean_ms) \(.wrk_corrected.p50_ms)"'
}
run_ab() {
    local ka=()
    [[ $2 == 1 ]] && ka=(-k)
    taskset -c "$LOAD_CORE" ab "${ka[@]}" -q -c "$C" -t "$SECS" -n 100000000 -e "$tmp/ab.csv" "$1" >"$tmp/ab.out" 2>&1
    local rps p50 failed mean
    rps=$(awk '/^Requests per second:/ {print $4}' "$tmp/ab.out")
    p50=$(awk -F, '$1 == "50" {print $2}' "$tmp/ab.csv")
    failed=$(awk '/^Failed requests:/ {print $3}' "$tmp/ab.out")
    # "Time per request: X [ms] (mean)": the first such line is per request of one connection.
    mean=$(awk '/^Time per request:/ && /\(mean\)$/ {print $4; exit}' "$tmp/ab.out")
    echo "$rps $p50 ${failed:-?} - ${mean:-?} -"
}
run_wrk() {
    local close=()
    [[ $2 == 0 ]] && close=(-H "Connection: close")
    taskset -c "$LOAD_CORE" wrk -t1 -c "$C" -d "${SECS}s" --latency "${close[@]}" "$1" >"$tmp/wrk.out" 2>&1
    awk '
        function ms(v,   unit) { unit = v; gsub(/[0-9.]/, "", unit); sub(/[a-z]+$/, "", v)
                                return (unit == "us") ? v / 1000 : (unit == "s") ? v * 1000 : v }
        /^Requests\/sec:/ { rps = $2 }
        /^ +Latency +[0-9]/ { mean = ms($2) }
        /^ +50%/ { p50 = ms($2) }
        /Socket errors|Non-2xx/ { errors = errors $0 }
        END { printf "%s %s %s - %s -\n", rps, p50, (errors == "" ? 0 : "see-wrk"), mean }
    ' "$tmp/wrk.out"
}

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

rows=()
notes=()
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
    local tb_rps tb_p50 tb_wrk_p50
    tb_rps=$(cut -d' ' -f1 "$tmp/testbed.txt" | median)
    tb_p50=$(cut -d' ' -f2 "$tmp/testbed.txt" | median)
    tb_wrk_p50=$(cut -d' ' -f6 "$tmp/testbed.txt" | median)
    for tool in testbed ab wrk; do
        local rps p50 errs sbusy cbusy mean
        rps=$(cut -d' ' -f1 "$tmp/$tool.txt" | median)
        p50=$(cut -d' ' -f2 "$tmp/$tool.txt" | median)
        errs=$(cut -d' ' -f3 "$tmp/$tool.txt" | paste -sd/)
        mean=$(cut -d' ' -f5 "$tmp/$tool.txt" | median)
        sbusy=$(cut -d' ' -f7 "$tmp/$tool.txt" | median)
        cbusy=$(cut -d' ' -f8 "$tmp/$tool.txt" | median)
        # wrk's p50 is of its corrected samples, so it is held to testbed's samples corrected
        # the same way.
        local bp=$tb_p50
        [[ $tool == wrk ]] && bp=$tb_wrk_p50
        rows+=("$(awk -v l="$label" -v t="$tool" -v r="$rps" -v p="$p50" -v br="$tb_rps" -v bp="$bp" -v e="$errs" -v sb="$sbusy" -v cb="$cbusy" -v m="$mean" -v c="$C" -v wp="$tb_wrk_p50" '
            BEGIN {
                dr = (r - br) / br * 100; dp = (p - bp) / bp * 100
                if (t == "testbed") p = sprintf("%.3f (as wrk: %.3f)", p, wp); else p = sprintf("%.3f", p)
                ok = (t == "testbed") ? "" : ((dr < 10 && dr > -10 && dp < 15 && dp > -15) ? "pass" : "FAIL")
                printf "| %s | %s | %.0f | %+.1f %% | %s | %+.1f %% | %.3f | %.3f | %s %% | %s %% | %s | %s |", l, t, r, dr, p, dp, m, c / r * 1000, sb, cb, e, ok
            }')")
    done
    # Whether any p50 could be within 15 % of both references: x within 15 % of a means
    # a / 1.15 < x < a / 0.85, so the two intervals meet only if the larger p50 is less than
    # 1.15 / 0.85 times the smaller.
    local ab_p50 wrk_p50
    ab_p50=$(cut -d' ' -f2 "$tmp/ab.txt" | median)
    wrk_p50=$(cut -d' ' -f2 "$tmp/wrk.txt" | median)
    notes+=("$(awk -v l="$label" -v a="$ab_p50" -v w="$wrk_p50" -v tw="$tb_wrk_p50" 'BEGIN {
        hi = (a > w) ? a : w; lo = (a > w) ? w : a
        if (hi <= lo * 1.15 / 0.85) exit
        printf "- %s: ab and wrk print p50s %.2fx apart (%.3f and %.3f ms; more than 1.15 / 0.85 = 1.35x, so no one figure is within 15 %% of both). ", l, hi / lo, a, w
        d = (w - tw) / tw * 100
        if (d < 15 && d > -15)
            printf "wrk corrects its samples for coordinated omission: testbed'"'"'s samples corrected the same way read %.3f ms (wrk %+.1f %%).", tw, d
        else
            printf "Not wrk'"'"'s correction: testbed'"'"'s samples corrected the same way read %.3f ms (wrk %+.1f %%).", tw, d
    }')")
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
echo "Closed loop, server on core $SERVER_CORE, load on core $LOAD_CORE, ${SECS}s per run, median of $REPS interleaved runs${TB_ARGS:+, testbed load $TB_ARGS} ($(nproc) cores, $(uname -r), load average at the end $(cut -d" " -f1-3 /proc/loadavg))"
echo
echo "wrk's p50 is compared with testbed's samples after wrk's coordinated-omission correction (\"as wrk\"); ab's with testbed's as measured."
echo
echo "| point | tool | requests/s | vs testbed | p50 ms | vs testbed | mean ms | C / (req/s), ms | server busy | client busy | errors per run | within 10 % / 15 % |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
for note in "${notes[@]}"; do
    [[ -n "$note" ]] && echo && echo "$note"
done
echo
