"""Mail: the outbox (queue in the caller's transaction), message building and delivery."""
