"""Outgoing e-mail: the outbox table, its delivery over SMTP or to files, and its commands."""
