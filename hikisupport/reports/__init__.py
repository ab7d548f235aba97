"""The indicator and what the policy office reads: counts, chart, exports, the JSON API."""
