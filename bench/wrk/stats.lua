-- Prints one machine-readable line at the end of a wrk run, so run.sh never scrapes wrk's
-- human-readable output (its units change with magnitude: us, ms, s, k, M).
-- Latencies are in microseconds; duration in microseconds.
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK_JSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,"
      .. "\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d,\"max_us\":%d,"
      .. "\"err_connect\":%d,\"err_read\":%d,\"err_write\":%d,\"err_status\":%d,\"err_timeout\":%d}\n",
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.connect, e.read, e.write, e.status, e.timeout))
end
