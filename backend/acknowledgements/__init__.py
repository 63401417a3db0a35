"""Automatic acknowledgements: one per new case from a person, never to a machine."""
