"""`python -m dynamokit`: the `dynamokit` command."""

from .cli import main

main()
