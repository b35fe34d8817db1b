"""The tlslab command line; `lab.cli.main.main` is its only exit path."""
