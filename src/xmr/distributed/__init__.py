"""The executor seam of distributed training: where XR-Linear's training jobs run.

``XLinearModel.fit(X, Y, executor=client)`` with a ``dask.distributed.Client``, or
``xmr train ... --dask tcp://scheduler:8786`` / ``--dask local:4``. See ``docs/distributed.md``.
The jobs and their planning are training code (:mod:`xmr.linear.jobs`,
:mod:`xmr.linear.distributed`); this package only places data and runs jobs, and imports
``dask.distributed`` when used (``pip install 'xmr[dask]'``). It imports nothing of the
engine above it.
"""

from .executor import DaskExecutor, LocalExecutor, as_executor, connect, local_cluster

__all__ = ["DaskExecutor", "LocalExecutor", "as_executor", "connect", "local_cluster"]
