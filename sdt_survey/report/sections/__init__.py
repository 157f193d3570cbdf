"""The report's sections, one module each, in the order they appear."""
