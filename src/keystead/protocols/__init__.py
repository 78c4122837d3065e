"""Sans-IO protocol cores: typed input in, typed result or typed protocol error out.

No web framework, no SQL, no network here (checked by import-linter in ``make test``).
"""
