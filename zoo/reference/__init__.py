"""The original musicnn 0.1.0 release, run as the reference for ports, parity tests and benchmarks."""
