"""Random streams that do not depend on the horizon: a world of N days is the first N days of a longer one.

Two rules make that hold. A draw over the whole population comes from a stream named for what it decides, so its
length never depends on the days. A draw over events comes from a stream of its own (every call to a `Streams` is a
fresh child stream) over a frame sorted by time: numpy fills arrays element by element, so the first k draws of
`random(n)` are `random(k)`, and the events of the first N days are the same first rows in every longer world.
Behaviour that happens on a day draws from that day's streams (`Streams(seed, channel, day)`).
"""

import zlib

import numpy as np


def _code(part) -> int:
    return part if isinstance(part, int) else zlib.crc32(str(part).encode())


class Streams:
    """A fresh PCG64 child stream for every draw, named by (seed, *key) and the draw's rank: `streams.random(n)`."""

    def __init__(self, seed: int, *key):
        self._sequence = np.random.SeedSequence([int(seed), *(_code(k) for k in key)])

    def generator(self) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(self._sequence.spawn(1)[0]))

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.generator(), name)
