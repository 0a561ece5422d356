"""The median and p90 of repeated calls, as the request benchmarks report them."""

import statistics
import time
from collections.abc import Callable
from typing import Any


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median and p90 of ``repeat`` calls, in milliseconds."""
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(0.9 * (len(timings) - 1))]
