"""The directory of 相談窓口 and 居場所: public pages, staff pages, schedules, open data."""
