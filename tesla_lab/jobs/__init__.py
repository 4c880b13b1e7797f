"""Background jobs: training runs in their own process, watched through the project store.

The dashboard, the widgets and ``tesla`` commands never train on their own thread: they call
:func:`launch_training`, which starts ``python -m tesla_lab.jobs.worker`` in its own process group, and then poll
the run in the store (status, per-epoch metrics, checkpoints). A crash or an out-of-memory kill in the worker ends
the run ``failed`` with the error text; the caller keeps running.

>>> from tesla_lab import jobs
>>> sorted(jobs.__all__)[:3]
['JobError', 'TrainingJob', 'attach']
"""

from tesla_lab.errors import JobError
from tesla_lab.jobs.multinode import train_on_nodes
from tesla_lab.jobs.training import (
    TrainingJob,
    attach,
    launch_training,
    list_devices,
    resume_training,
)

__all__ = ["JobError", "TrainingJob", "attach", "launch_training", "list_devices", "resume_training", "train_on_nodes"]
