"""The `crewchief` command: typer commands that parse, call one library function, render, exit."""
