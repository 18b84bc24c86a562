"""`livepledge compliance …` (filled in by the compliance engine work, issue #3)."""

import typer

app = typer.Typer(help="合规检查 / Compliance checks on scripts, listings, speech and chat.",
                  no_args_is_help=True)
