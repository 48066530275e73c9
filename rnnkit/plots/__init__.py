"""Matplotlib figures (headless: the Agg backend)."""

import matplotlib

matplotlib.use("Agg")
