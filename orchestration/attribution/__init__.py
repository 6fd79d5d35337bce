"""Data-driven attribution solved exactly (Markov removal effects, Shapley values) and its score against the truth."""
