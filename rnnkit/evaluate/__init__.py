"""Metrics, baselines and backtests: every forecast is judged beside honest baselines."""
