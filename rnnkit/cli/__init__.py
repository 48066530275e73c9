"""The command-line interface (thin: parse, validate, call one library function)."""
