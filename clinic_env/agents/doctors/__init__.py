"""Offline doctors: systematic, random, planted (a known bias effect), oracle (privileged) and
replay."""

from clinic_env.agents.doctors.oracle import OracleDoctor
from clinic_env.agents.doctors.planted import PlantedEffectDoctor
from clinic_env.agents.doctors.random_doctor import RandomDoctor
from clinic_env.agents.doctors.replay import ReplayDoctor
from clinic_env.agents.doctors.systematic import SystematicDoctor

__all__ = [
    "OracleDoctor",
    "PlantedEffectDoctor",
    "RandomDoctor",
    "ReplayDoctor",
    "SystematicDoctor",
]
