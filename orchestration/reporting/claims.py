"""The omnichannel claims the product is built on, as the marketing material makes them, to set beside the data.

They are what the claims say, not thresholds: the report shows each next to what the marts measured.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    key: str
    says: str
    low: float  # the claimed value, or the low end of a claimed range
    high: float  # the same as `low` for a single figure
    unit: str  # "share" (0-1) or "touches"


SEED_CLAIMS = (
    Claim(
        "retention_multi_channel",
        "customers engaged across channels retain far better: 89% of multi-channel customers",
        0.89,
        0.89,
        "share",
    ),
    Claim("retention_single_channel", "... against 33% of single-channel customers", 0.33, 0.33, "share"),
    Claim("open_rate_lift", "cross-channel data lifts open rates 15-25%", 0.15, 0.25, "share"),
    Claim("conversion_rate_lift", "cross-channel data lifts conversions up to 30%", 0.30, 0.30, "share"),
    Claim("touches_before_purchase", "buyers need about six touchpoints", 6.0, 6.0, "touches"),
)
