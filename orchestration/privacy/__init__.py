"""Privacy: salted hashing of identifiers, the `forget` suppression list, and the PII scan of published data.

Plain logic beneath ingestion and identity: it imports neither, so the loader (which keeps erased people out of
every replay) and `forget` (which erases them) can both depend on it.
"""
