"""The bridge's benchmarks: `make bench` writes docs/benchmarks.md."""
