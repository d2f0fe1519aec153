"""Benchmarks: xmr side by side with libpecos, napkinXC and Omikuji (see README.md)."""
