"""Batch flying, as seen from the team side: the same `fly_batch` as `pipeline.missions.batch`.

The implementation lives with the missions (it is about seeds, partitions and landing files); this name
exists because Dagster assets and the evaluation step think of a batch as "run the team N times".
"""

from pipeline.missions.batch import (
    BatchReport,
    ProgressCallback,
    batch_seeds,
    fly_batch,
    reference_success_rate,
)

__all__ = ["BatchReport", "ProgressCallback", "batch_seeds", "fly_batch", "reference_success_rate"]
