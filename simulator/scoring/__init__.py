"""Scorers that read the simulator's ground truth: identity (B-cubed) and attribution (channel ranking)."""
