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


class ConfigError(UserError):
    """A configuration value is invalid."""


class RunError(ClinicEnvError):
    """Something failed while running a consultation that the user could not have prevented."""


class AgentError(RunError):
    """An agent failed to produce its reply."""
