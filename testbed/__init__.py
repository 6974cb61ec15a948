"""Real servers and processes shared by the tests, the benchmarks and the scripts."""
