"""Webhooks: a shop's endpoints receive signed, retried deliveries of its own events
(docs/fans.md, "Webhooks")."""
