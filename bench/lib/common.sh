# Shell helpers the benchmark scripts share (sourced by run.sh, tls.sh, metrics_cost.sh and
# callgrind.sh).

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Clock ticks a second, the unit of server_cpu_ticks.
CLK_TCK="$(getconf CLK_TCK)"

# The CPU time (user + system, in clock ticks: divide by CLK_TCK) used so far by
# process PID and every descendant (portico's and gunicorn's workers), all threads included.
# wrk saturates its own core near 200k req/s, so req/s alone cannot tell two fast servers
# apart: the server's CPU per request is the per-core cost.
server_cpu_ticks() {
    local pids=("$1") i=0 total=0 stat rest fields
    while [ "$i" -lt "${#pids[@]}" ]; do
        for child in $(pgrep -P "${pids[$i]}" 2>/dev/null); do pids+=("$child"); done
        i=$((i + 1))
    done
    for pid in "${pids[@]}"; do
        stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
        # Fields after the command name (which may hold spaces): utime and stime are the 12th
        # and 13th of them (the 14th and 15th of the line).
        rest="${stat##*) }"
        read -r -a fields <<<"$rest"
        total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}
