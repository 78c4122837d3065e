"""The ``keystead`` command."""
