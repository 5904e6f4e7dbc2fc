"""`python -m dynamokit`: the `dynamokit` command."""

from .launcher import main

main()
