"""Beam search on a Dask distributed cluster (``pip install -e ".[cluster]"``).

The beam is sharded by well hash over the workers; the game is the single-process
search's, whatever the number of workers (see ``docs/cluster.md``). Like stumpy's
``stumped``, the entry points take a ``distributed.Client`` (or ``local:N`` / a scheduler
address, :func:`connect`).
"""

from .local import ClusterSpecError, connect, parse_cluster
from .search import ClusterBeamSearch, ClusterError

__all__ = ["ClusterBeamSearch", "ClusterError", "ClusterSpecError", "connect", "parse_cluster"]
