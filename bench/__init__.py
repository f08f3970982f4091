"""CivicLoop benchmarks: figures and ratios against a ceiling measured in the same run (`make bench`)."""
