"""`livepledge audit …` (filled in by the integrity audit work, issue #4)."""

import typer

app = typer.Typer(help="数据审计 / Integrity audits: brushing, return laundering, bought viewers.",
                  no_args_is_help=True)
