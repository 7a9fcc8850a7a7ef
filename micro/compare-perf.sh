#!/usr/bin/env bash
# Runs thread_switch/same_core (Criterion) and `perf bench sched pipe -T` on core 0 right after
# each other, a few times, and prints both per switch. perf reports usecs per round trip (two
# switches); micro reports ns per switch with the syscall baseline subtracted, so it also
# prints perf's number halved.
#
# Usage: micro/compare-perf.sh [rounds] [perf loops]    (needs linux-perf: apt-get install linux-perf)
set -euo pipefail
rounds=${1:-3}
loops=${2:-200000}
cd "$(dirname "$0")/.."
command -v perf >/dev/null || { echo "perf not found: apt-get install linux-perf" >&2; exit 1; }
cargo bench -q -p micro --bench micro --no-run
for round in $(seq 1 "$rounds"); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    micro=$(cargo bench -q -p micro --bench micro -- thread_switch/same_core 2>/dev/null |
        grep -o 'time: *\[[^]]*\]' | head -1)
    perf_us=$(taskset -c 0 perf bench sched pipe -T -l "$loops" 2>/dev/null |
        awk '/usecs\/op/ {print $1}')
    per_switch=$(awk -v us="$perf_us" 'BEGIN {printf "%.3f", us / 2}')
    echo "round $round (load $load): micro same_core $micro | perf $perf_us us/op = $per_switch us per switch"
done
