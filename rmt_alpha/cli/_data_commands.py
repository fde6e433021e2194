"""Subcommands that get data: fetch."""

from __future__ import annotations

from rmt_alpha.cli._options import emit


def cmd_fetch(args) -> None:
    from rmt_alpha.data import fetch

    folders = fetch(*args.names, verbose=not args.json)
    if args.json:
        emit({name: str(folder) for name, folder in folders.items()}, True, [])
