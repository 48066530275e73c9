"""Training glue: device choice, thread settings, the Lightning module and fit()."""
