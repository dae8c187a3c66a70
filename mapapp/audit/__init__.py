"""The audit trail: who changed what, when, before and after (append-only, see migration 0008)."""
