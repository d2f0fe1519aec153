"""Distributed training: XR-Linear's clustering and sub-tree training as jobs on Dask workers.

``XLinearModel.fit(X, Y, executor=client)`` with a ``dask.distributed.Client``, or
``xmr train ... --dask tcp://scheduler:8786`` / ``--dask local:4``. See ``docs/distributed.md``.
The jobs and their planning (:mod:`.jobs`, :mod:`.train`) need only numpy and scipy; the Dask
executor (:mod:`.executor`) imports ``dask.distributed`` when used (``pip install 'xmr[dask]'``).
"""

from .executor import DaskExecutor, LocalExecutor, as_executor, connect, local_cluster
from .train import DistributedReport, fit_tree

__all__ = ["DaskExecutor", "DistributedReport", "LocalExecutor", "as_executor", "connect",
           "fit_tree", "local_cluster"]
