"""A local stand-in for Kalshi and ESPN: a deterministic simulated NFL week on 127.0.0.1.

Plain library code (no Dagster). Tests start :class:`SandboxServer` in a thread; ``precog
sandbox`` serves it in the foreground; ``precog dev`` can :func:`start_sandbox` beside Dagster.
"""

from precog_pipelines.sandbox.credentials import SandboxCredentials, ensure_sandbox_credentials, write_private_key
from precog_pipelines.sandbox.faults import Fault
from precog_pipelines.sandbox.server import SandboxConfig, SandboxServer, start_sandbox
from precog_pipelines.sandbox.world import NFL_SERIES, SYNTHETIC_SERIES, SandboxWorld

__all__ = [
    "ensure_sandbox_credentials",
    "Fault",
    "NFL_SERIES",
    "SandboxConfig",
    "SandboxCredentials",
    "SandboxServer",
    "SandboxWorld",
    "start_sandbox",
    "SYNTHETIC_SERIES",
    "write_private_key",
]
