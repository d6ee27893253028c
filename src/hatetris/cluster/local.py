"""Getting a Dask client: ``local:N`` (a local cluster of N worker processes), a
scheduler address (``tcp://host:8786``), or a ``distributed.Client`` already made.

>>> parse_cluster("local:3")
3
>>> parse_cluster("tcp://10.0.0.5:8786") is None
True
>>> parse_cluster("local:0")
Traceback (most recent call last):
...
hatetris.cluster.local.ClusterSpecError: --cluster local:N needs N >= 1, not 'local:0'
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit


class ClusterSpecError(ValueError):
    """A --cluster value that is not ``local:N`` (N >= 1) or a reachable scheduler."""


def parse_cluster(spec: str) -> int | None:
    """N for ``local:N``, None for a scheduler address; ClusterSpecError otherwise."""
    spec = spec.strip()
    if spec.startswith("local:") or spec == "local":
        n = spec[len("local:"):]
        if not n.isdigit() or int(n) < 1:
            raise ClusterSpecError(f"--cluster local:N needs N >= 1, not {spec!r}")
        return int(n)
    if "://" not in spec and ":" not in spec:
        raise ClusterSpecError(f"--cluster takes local:N or a scheduler address such as "
                               f"tcp://host:8786, not {spec!r}")
    return None


def local_cluster(n_workers: int):
    """N worker processes of one thread each (Numba threads: the cores shared out)."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                        dashboard_address=None)


def numba_threads_for(n_workers: int) -> int:
    """Numba threads per local worker: this machine's cores shared out, at least 1."""
    return max(1, (os.cpu_count() or 1) // n_workers)


def _check_reachable(address: str, timeout: float) -> None:
    """Fail fast (and in one line) when nothing listens at a tcp scheduler address."""
    u = urlsplit(address if "://" in address else "tcp://" + address)
    try:
        host, port = u.hostname, u.port
    except ValueError:
        raise ClusterSpecError(f"--cluster: {address!r} is not a scheduler address") from None
    if u.scheme not in ("tcp", "tls") or not host or not port:
        return  # other protocols (ucx, inproc): let distributed judge
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        raise ClusterSpecError(f"cannot reach the Dask scheduler at {address}: "
                               f"{e.strerror or e}") from None


@contextmanager
def connect(cluster, timeout: float = 10.0) -> Iterator[tuple[object, int | None]]:
    """``(client, numba threads per worker or None)`` for ``local:N``, an address or a
    Client; a local cluster (and a client made here) is closed on exit."""
    from distributed import Client

    if isinstance(cluster, Client):
        yield cluster, None
        return
    n = parse_cluster(str(cluster))
    if n is not None:
        lc = local_cluster(n)
        try:
            with Client(lc) as client:
                yield client, numba_threads_for(n)
        finally:
            lc.close()
        return
    _check_reachable(str(cluster).strip(), timeout)
    try:
        client = Client(str(cluster).strip(), timeout=timeout)
    except (OSError, TimeoutError, ValueError) as e:
        raise ClusterSpecError(f"cannot reach the Dask scheduler at {cluster}: "
                               f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
                               ) from None
    try:
        yield client, None
    finally:
        client.close()
