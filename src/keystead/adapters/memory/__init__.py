"""In-process adapters (one node)."""
