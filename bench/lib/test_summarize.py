"""Tests of summarize.py: medians, the peer ratio, error counting. Run: python3 -m unittest
discover -s bench/lib"""
import unittest

import summarize


def record(server, role, rps, rep, p50=100, p99=900, status_errors=0, read_errors=0):
    return {
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


if __name__ == "__main__":
    unittest.main()
