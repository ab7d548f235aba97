"""Plumbing that knows no model: database, extensions, forms, errors, security, logs."""
