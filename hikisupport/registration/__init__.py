"""Public sign-up, the personal page, the waitlist and cancellation."""
