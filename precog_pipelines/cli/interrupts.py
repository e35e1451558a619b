"""Ctrl-C for the long-running commands."""

import signal


def honour_ctrl_c() -> None:
    """Make SIGINT stop this process and the programs it starts, as Ctrl-C does in a terminal.

    A shell without job control starts background commands with SIGINT ignored, and children
    inherit that; a long-running command would then outlive the Ctrl-C or `kill -INT` meant for it.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
