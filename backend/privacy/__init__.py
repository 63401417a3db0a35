"""Privacy: retention of personal data and citizens' rights."""
