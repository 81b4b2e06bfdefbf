"""Every error clinic-env raises on purpose, under one root.

User mistakes (a bad case file, an unknown persona, a step before reset) are kept apart from
run-time failures (a model call that failed after its retries), so faces can print the first
kind as one line and record the second kind on the transcript.
"""

from __future__ import annotations


class ClinicEnvError(Exception):
    """Root of every error raised by clinic-env."""


class UserError(ClinicEnvError):
    """Something the user asked for or gave is wrong; the message says what to change."""


class ContentError(UserError):
    """A content file (persona, bias, prompt, rubric, reward spec) is missing or invalid."""


class CaseDataError(UserError):
    """A case file or record is invalid; the message names the file, line and field."""


class DatasetDownloadError(UserError):
    """A dataset file could not be fetched, verified or found in the cache."""


class UnknownNameError(UserError):
    """A name (persona, dataset, agent, evaluator) is not registered."""


class ProtocolError(UserError):
    """The consultation protocol was misused, e.g. step before reset or after the end."""


class EpisodeStateError(ProtocolError):
    """A consultation was stepped before it started or after it ended; every face raises
    this one error for both, so callers handle them alike."""


class ConfigError(UserError):
    """A configuration value is invalid."""


class RunFolderError(UserError):
    """A run folder cannot be used as asked: damaged, of another experiment or grid, or not
    writable; the message names the file and what to do."""


class RunLockedError(RunFolderError):
    """Another process is writing to the run folder; the message names it (pid, host, since)."""


class RunError(ClinicEnvError):
    """Something failed while running a consultation that the user could not have prevented."""


class AgentError(RunError):
    """An agent failed to produce its reply."""


class StoreWriteError(RunError):
    """The disk refused a write to a run folder (full, read-only, gone), so the run stops."""


class RecordWriteError(RunError):
    """One record could not be written as JSON; its cell is recorded failed instead."""
