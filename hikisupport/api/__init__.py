"""The JSON API under /api/v1 (staff session or `Authorization: Bearer <token>`)."""
