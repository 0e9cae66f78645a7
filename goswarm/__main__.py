"""`python -m goswarm` is the goswarm command."""
from goswarm.cli import main

main()
