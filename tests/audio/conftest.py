"""Counts the hostile audio cases the fuzz tests tried, printed in pytest's terminal summary."""

from collections import Counter

FUZZ_CASES: Counter = Counter()


def pytest_terminal_summary(terminalreporter):
    if FUZZ_CASES:
        terminalreporter.write_line(
            "audio fuzz: " + ", ".join(f"{k} {v}" for k, v in sorted(FUZZ_CASES.items())))
