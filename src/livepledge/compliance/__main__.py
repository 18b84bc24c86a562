"""`python -m livepledge.compliance …` runs the compliance CLI on its own."""

from livepledge.compliance.cli import app

app(prog_name="livepledge compliance")
