"""The `qualipref` command line."""
