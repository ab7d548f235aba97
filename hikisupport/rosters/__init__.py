"""Rosters (名簿), exports and the print sheet: who is registered, read with an audit row."""
