"""The render queue: job settings and states (`model`), their SQLite store (`store`) and the function
that renders one job while recording its progress (`runner`, imported on its own: it pulls in the
engine)."""

from avatar_studio.jobs.model import FINISHED_STATES, RETRYABLE_STATES, Job, JobSpec, JobState
from avatar_studio.jobs.naming import default_output_path
from avatar_studio.jobs.store import JOBS_DB_NAME, SCHEMA_VERSION, JobStore

__all__ = [
    "FINISHED_STATES",
    "JOBS_DB_NAME",
    "RETRYABLE_STATES",
    "SCHEMA_VERSION",
    "Job",
    "JobSpec",
    "JobState",
    "JobStore",
    "default_output_path",
]
