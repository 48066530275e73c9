"""Workflows behind the CLI commands, one module per command group: read, train, evaluate,
write the run folder. The CLI only parses options and calls these."""
