"""Benchmarks (not timed tests): ``python -m benchmarks`` runs them all, ``python -m benchmarks
NAME [ARGS]`` one of them. Each module here with a ``main(argv) -> int`` is a benchmark."""
