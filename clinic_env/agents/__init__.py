"""Patient, measurement and doctor agents, registered by name.

Importing this package registers the built-in offline agents: ``offline`` patient and
measurement, and the ``systematic``, ``random`` and ``oracle`` doctors.
"""

from clinic_env.agents import doctors, offline_measurement, offline_patient
from clinic_env.agents.base import (
    DOCTORS,
    MEASUREMENTS,
    PATIENTS,
    DoctorAgent,
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
    "DoctorAgent",
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
