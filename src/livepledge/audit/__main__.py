"""`python -m livepledge.audit …` runs the audit CLI without the rest of the platform."""

from livepledge.audit.cli import main

main()
