"""The `streamwatch` command (and `python -m streamwatch`): the command line (streamwatch/cli.py) is
loaded here, so that a Ctrl-C while it loads or reads its arguments (the first third of a second)
ends as one during a command does: exit 130, no traceback."""

import sys

INTERRUPTED = 130
"""The exit status of a command stopped by Ctrl-C (cli.EXIT_INTERRUPTED, which cannot be read before cli loads)."""


def main() -> int:
    try:
        from streamwatch.cli import main as command

        return command()
    except KeyboardInterrupt:
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
