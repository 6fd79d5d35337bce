"""How many offending rows a batch may hold before an expectation with a tolerance (`mostly`) fails.

A suite's `mostly=0.95` says the source may have up to 5 % offending values (a mistyped address, say). A batch is
a sample of the source: a delivery day of 18 orders with one mistyped address has 5.6 % of them, though the
source's rate is well inside 5 %, and a gate that blocks on that blocks small days at random. So each such
expectation is checked against the number of offending rows a batch of its size reaches by chance, at the
tolerated rate, with probability at most FALSE_ALARM: the binomial upper quantile. Large batches keep nearly the
suite's own tolerance (300,000 rows: 94.85 % for 95 %); a source whose rate is above it still fails.
"""

from scipy.stats import binom

# The chance that a batch of a source exactly at its tolerance fails anyway: with a few such expectations per
# delivery day, a clean source is held back once in several years, not once a week.
FALSE_ALARM = 1e-4


def batch_mostly(mostly: float, rows: int, false_alarm: float = FALSE_ALARM) -> float:
    """The share of a `rows`-row batch that must conform, for a source allowed a share `1 - mostly` of offenders."""
    if mostly >= 1 or mostly <= 0 or rows <= 0:
        return mostly
    allowed = binom.ppf(1 - false_alarm, rows, 1 - mostly)  # offenders reached by chance, at most false_alarm
    return max(0.0, 1 - float(allowed) / rows)


def for_batch(expectations: list, rows: int) -> list:
    """The expectations with each tolerance (`mostly` below 1) set for a batch of `rows` rows."""
    adjusted = []
    for expectation in expectations:
        mostly = getattr(expectation, "mostly", 1)
        if mostly is None or mostly >= 1:
            adjusted.append(expectation)
            continue
        fields = expectation.dict(exclude={"id"})
        fields["mostly"] = round(batch_mostly(mostly, rows), 6)
        adjusted.append(type(expectation)(**fields))
    return adjusted
