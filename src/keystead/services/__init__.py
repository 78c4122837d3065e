"""Use cases: tenants, directory, credentials, keys, authorization, tokens, sessions.

No HTTP and no SQL here: services call the protocol cores and the storage ports.
"""
