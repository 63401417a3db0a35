"""The audit trail: who did what, when; written once, never changed."""
