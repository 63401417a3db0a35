"""Tests of the mail parser."""
