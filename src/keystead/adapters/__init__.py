"""Adapters: the only code that knows SQL, Redis, SMTP, LDAP or upstream HTTP."""
