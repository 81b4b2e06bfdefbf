"""Patient, measurement and doctor agents, registered by name.

Importing this package registers the built-in offline agents: ``offline`` patient and
measurement, and the ``systematic``, ``random``, ``planted`` and ``oracle`` doctors. Each
registry lists its agents with their metadata and summary (``DOCTORS.entries()``); agents of
other packages are found through the ``clinic_env.agents`` entry-point group.
"""

from clinic_env.agents import doctors, offline_measurement, offline_patient
from clinic_env.agents.base import (
    DOCTORS,
    MEASUREMENTS,
    PATIENTS,
    AgentInfo,
    DoctorAgent,
    DoctorInfo,
    DoctorObservation,
    MeasurementAgent,
    MeasurementResult,
    PatientAgent,
    PatientQuestion,
    PatientReply,
)

__all__ = [
    "DOCTORS",
    "MEASUREMENTS",
    "PATIENTS",
    "AgentInfo",
    "DoctorAgent",
    "DoctorInfo",
    "DoctorObservation",
    "MeasurementAgent",
    "MeasurementResult",
    "PatientAgent",
    "PatientQuestion",
    "PatientReply",
    "doctors",
    "offline_measurement",
    "offline_patient",
]
