"""Tests of summarize.py: medians, the peer ratio, error counting. Run: python3 -m unittest
discover -s bench/lib"""
import unittest

import summarize


def record(server, role, rps, rep, p50=100, p99=900, status_errors=0, read_errors=0, cpu_us=None):
    r = {
        "scenario": "a",
        "server": server,
        "role": role,
        "path": "/plaintext",
        "load": "c64",
        "rep": rep,
        "requests": rps * 10,
        "duration_us": 10_000_000,
        "p50_us": p50,
        "p99_us": p99,
        "err_connect": 0,
        "err_read": read_errors,
        "err_write": 0,
        "err_status": status_errors,
        "err_timeout": 0,
    }
    if cpu_us is not None:
        r["cpu_us"] = cpu_us
    return r


class SummarizeTests(unittest.TestCase):
    def test_with_two_peers_the_ratio_is_to_the_better(self):
        records = [
            record("portico", "subject", 300, 1),
            record("axum", "peer", 200, 1),
            record("axum-mt", "peer", 250, 1),
        ]
        rows = {r["server"]: r for r in summarize.summarize(records)}
        self.assertEqual(rows["portico"]["ratio"], "1.20x")
        self.assertEqual(rows["axum-mt"]["ratio"], "1 (peer)")
        self.assertEqual(rows["axum"]["ratio"], "0.80x (peer)")

    def test_medians_and_ratio_against_the_peer(self):
        records = [
            record("portico", "subject", 300, 1, p50=50),
            record("axum", "peer", 100, 1),
            record("portico", "subject", 100, 2, p50=70),
            record("axum", "peer", 200, 2),
            record("portico", "subject", 200, 3, p50=60),
            record("axum", "peer", 100, 3),
        ]
        rows = summarize.summarize(records)
        portico = next(r for r in rows if r["server"] == "portico")
        axum = next(r for r in rows if r["server"] == "axum")
        self.assertAlmostEqual(portico["rps"], 200)
        self.assertAlmostEqual(axum["rps"], 100)
        self.assertEqual(portico["ratio"], "2.00x")
        self.assertEqual(axum["ratio"], "1 (peer)")
        self.assertAlmostEqual(portico["p50_ms"], 0.060)
        self.assertEqual(portico["runs"], 3)

    def test_cpu_per_request_is_compared_to_the_cheaper_peer(self):
        # 10 s at 300 req/s = 3000 requests; 6000 us of CPU = 2 us/req.
        records = [
            record("portico", "subject", 300, 1, cpu_us=6000),
            record("axum", "peer", 200, 1, cpu_us=8000),
            record("axum-mt", "peer", 250, 1, cpu_us=10000),
        ]
        rows = {r["server"]: r for r in summarize.summarize(records)}
        self.assertAlmostEqual(rows["portico"]["cpu_us"], 2.0)
        self.assertAlmostEqual(rows["axum"]["cpu_us"], 4.0)
        self.assertAlmostEqual(rows["axum-mt"]["cpu_us"], 4.0)
        self.assertEqual(rows["portico"]["cpu_ratio"], "2.00x")
        self.assertEqual(rows["axum"]["cpu_ratio"], "1 (peer)")
        self.assertIn("| 2.00 | 2.00x |", summarize.markdown(list(rows.values())))

    def test_records_without_cpu_show_none(self):
        rows = summarize.summarize(
            [record("portico", "subject", 100, 1), record("axum", "peer", 100, 1, cpu_us=500)]
        )
        portico = next(r for r in rows if r["server"] == "portico")
        self.assertIsNone(portico["cpu_us"])
        self.assertEqual(portico["cpu_ratio"], "n/a")
        self.assertIn("| n/a | n/a |", summarize.markdown(rows))

    def test_no_peer_means_no_ratio(self):
        rows = summarize.summarize([record("portico", "subject", 100, 1)])
        self.assertEqual(rows[0]["ratio"], "n/a")

    def test_status_errors_count_read_errors_do_not(self):
        rows = summarize.summarize(
            [record("gunicorn", "peer", 10, 1, status_errors=3, read_errors=50)]
        )
        self.assertEqual(rows[0]["errors"], 3)

    def test_markdown_has_a_row_per_group(self):
        rows = summarize.summarize(
            [record("portico", "subject", 100, 1), record("axum", "peer", 100, 1)]
        )
        table = summarize.markdown(rows)
        self.assertEqual(len(table.splitlines()), 4)
        self.assertIn("| 1.00x |", table)

    def test_a_p99_below_the_p50_is_shown_as_not_measured(self):
        # wrk's pipelined loads report 0 for p90 and p99.
        rows = summarize.summarize([record("portico", "subject", 100, 1, p50=1500, p99=0)])
        table = summarize.markdown(rows)
        self.assertIn("| 1.500 | n/a |", table)
        rows = summarize.summarize([record("portico", "subject", 100, 1, p50=1500, p99=2500)])
        self.assertIn("| 1.500 | 2.500 |", summarize.markdown(rows))


if __name__ == "__main__":
    unittest.main()
