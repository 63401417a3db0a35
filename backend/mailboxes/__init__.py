"""Functional mailboxes: their settings, the IMAP adapter and the polling of new mail."""
