"""Delay indicators: the quality manager's monthly table, computed in the database."""
