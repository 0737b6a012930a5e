"""`newsflow bench`: enrichment per core, end to end, latency, scaling, memory and search (docs/benchmarks.md)."""
