"""Benchmarks: `make bench` runs every module listed in BENCHES and prints its figures."""

BENCHES = [
    "bench.producer",
    "bench.realtime",
    "bench.sql",
    "bench.lake",
    "bench.api",
]
