"""Demo data for trying the service out (never for production)."""
