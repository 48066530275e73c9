"""Data: series from CSV, scalers, windows and splits, named datasets."""
