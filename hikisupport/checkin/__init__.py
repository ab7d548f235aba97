"""Check-in (受付) at the venue: the tablet page, its API, devices and their pairing."""
