"""Parser throughput: every message of the shared corpus parsed N times, in one process.

Run by hand:

    .venv/bin/python -m bench.parse_corpus --rounds 5
    .venv/bin/python -m bench.parse_corpus --rounds 5 --generated 2000

Prints messages per second and MB per second for the corpus, and with --generated for the
realistic citizen mail of bench.mail_generator (the mix of the ingestion benchmark), and the
slowest corpus files.
"""

import argparse
import time
from collections.abc import Sequence

from backend.mail.parser import parse_message
from tests.fixtures.corpus import read_index


def measure(messages: Sequence[bytes], *, rounds: int) -> tuple[float, float]:
    """Messages per second and megabytes per second over rounds passes."""
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in messages:
            parse_message(raw)
    elapsed = time.perf_counter() - started
    count = len(messages) * rounds
    size = sum(map(len, messages)) * rounds
    return count / elapsed, size / elapsed / 1e6


def slowest(
    names: Sequence[str], *, messages: Sequence[bytes], top: int
) -> list[tuple[float, str]]:
    """The files that take longest to parse, in milliseconds."""
    timings = []
    for name, raw in zip(names, messages, strict=True):
        started = time.perf_counter()
        parse_message(raw)
        timings.append(((time.perf_counter() - started) * 1000, name))
    return sorted(timings, reverse=True)[:top]


def main() -> None:
    """Parse the corpus (and optionally generated mail) and print the rates."""
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--rounds", type=int, default=5, help="passes over the messages")
    arguments.add_argument("--generated", type=int, default=0, help="also N generated mails")
    arguments.add_argument("--top", type=int, default=5, help="slowest corpus files to list")
    options = arguments.parse_args()
    entries = read_index()
    corpus = [entry.path.read_bytes() for entry in entries]
    rate, throughput = measure(corpus, rounds=options.rounds)
    print(
        f"corpus: {len(corpus)} files x {options.rounds}: "
        f"{rate:,.0f} messages/s, {throughput:.1f} MB/s"
    )
    for milliseconds, name in slowest(
        [e.relative for e in entries], messages=corpus, top=options.top
    ):
        print(f"  {milliseconds:8.1f} ms  {name}")
    if options.generated:
        from bench.mail_generator import generate_mails  # only when asked

        generated = generate_mails(options.generated)
        rate, throughput = measure(generated, rounds=options.rounds)
        print(
            f"generated: {len(generated)} mails x {options.rounds}: "
            f"{rate:,.0f} messages/s, {throughput:.1f} MB/s"
        )


if __name__ == "__main__":
    main()
