"""Supporters: completion of courses, certification, certificates, the supporter registry."""
