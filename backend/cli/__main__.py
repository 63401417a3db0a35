"""`python -m backend.cli`: the same as the `qualipref` command."""

from backend.cli.main import main

main()
