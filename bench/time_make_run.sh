#!/bin/bash
# How long `make run` takes until the demo serves, from a fresh clone and again warm.
#   bench/time_make_run.sh            (clones this checkout into a temporary directory)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/heldout-make-run.XXXXXX)
git clone -q "$src" "$dir/heldout"
time_run() {
    local label=$1 log="$dir/$1.log" start end
    start=$(date +%s.%N)
    (cd "$dir/heldout" && exec make run >"$log" 2>&1) &
    local pid=$!
    for _ in $(seq 900); do grep -q "Heldout is serving" "$log" && break; sleep 0.2; done
    end=$(date +%s.%N)
    printf 'make run (%s): %.1f s until "Heldout is serving"\n' "$label" "$(echo "$end - $start" | bc)"
    pkill -TERM -f "heldout demo" ; wait "$pid" 2>/dev/null; sleep 2
}
time_run fresh
time_run warm
rm -rf "$dir"
