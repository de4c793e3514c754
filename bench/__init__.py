"""Benchmarks, run by `make bench` (`python -m bench`); figures go to docs/benchmarks.md.

Each benchmark is a module listed in `bench.__main__.BENCHMARKS` with a
`run() -> Result` function. Benchmarks measure what a timed test should not:
they take seconds to minutes and their figures depend on the machine.
"""
