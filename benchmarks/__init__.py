"""Speed and memory benchmarks: ``python -m benchmarks NAME`` prints the measured figures."""
