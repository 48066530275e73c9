"""Matplotlib figures, each a ``Figure`` made without pyplot: importing these modules or
drawing a figure never changes the backend or pyplot's list of open figures. Save one with
`rnnkit.io.save_figure`."""
