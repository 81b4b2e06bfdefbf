"""``clinic-env play`` at a terminal: help at no cost, Ctrl-C saves, the end screen, biases."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from clinic_env.agents.base import DoctorObservation
from clinic_env.agents.human import HumanDoctor, LineReader
from clinic_env.datasets import find_case

COMMAND = [sys.executable, "-m", "clinic_env.cli.main", "play"]


def play(arguments: list[str], answers: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *arguments],
        input=answers,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def saved(folder: Path) -> dict:
    (line,) = (folder / "transcripts.jsonl").read_text().splitlines()
    return json.loads(line)


def test_help_and_question_mark_show_the_commands_and_cost_no_turn():
    typed = iter(["help", "?", "  ", "What brings you in today?"])
    shown: list[str] = []

    async def ask(prompt: str) -> str:
        return next(typed)

    doctor = HumanDoctor(ask=ask, show=shown.append)
    view = find_case("starter", "resp-001").doctor_view()
    message = asyncio.run(doctor.act(DoctorObservation("opening", 1, 7, view)))
    assert message == "What brings you in today?"
    helps = [text for text in shown if "REQUEST TEST:" in text]
    assert len(helps) == 2 and "7 turn(s) left" in helps[0]


def test_the_terminal_reader_keeps_every_line_of_one_write_and_ends_cleanly():
    read, write = os.pipe()
    os.write(write, b"first\nsecond\r\nthird")
    os.close(write)
    reader = LineReader(read)

    async def lines() -> list[str]:
        found = []
        try:
            while True:
                found.append(await reader.readline())
        except EOFError:
            return found

    try:
        assert asyncio.run(lines()) == ["first", "second", "third"]
    finally:
        os.close(read)


def test_the_end_screen_as_the_doctor(tmp_path: Path):
    answers = "help\nWhat brings you in today?\nREQUEST TEST: D-dimer\n"
    answers += "DIAGNOSIS READY: pneumonia; Pulmonary embolism\n"
    result = play(["--as", "doctor", "--case", "resp-001", "--out", str(tmp_path)], answers)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Your diagnosis: 1. pneumonia; 2. Pulmonary embolism" in out
    assert "The answer: Pulmonary embolism" in out
    assert "was number 2 on your list" in out
    assert "Reward: " in out and "  end.topk" in out
    assert "Facts drawn out (" in out and "Facts missed (" in out
    assert "Tests ordered: D-dimer" in out
    assert "top1 0" in out and "top3 1" in out
    assert "2,450 ng/mL" in out
    record = saved(tmp_path)
    assert record["agents"]["doctor"] == "human"
    assert len(record["turns"]) == 3, "help cost no turn"


def test_the_patient_sees_the_doctors_diagnosis_and_plays_with_biases(tmp_path: Path):
    arguments = ["--as", "patient", "--case", "resp-001", "--max-turns", "2"]
    arguments += ["--biases", "self_diagnosis", "--out", str(tmp_path)]
    result = play(arguments, "It hurts when I breathe in.\n" * 2)
    assert result.returncode == 0, result.stderr
    assert "Answer the doctor from these notes only" in result.stdout
    assert "researched your symptoms" in result.stdout, "the bias is in the notes"
    assert "Doctor: What brings you in today?" in result.stdout
    assert "The systematic doctor's diagnosis: 1. " in result.stdout
    assert "The answer: Pulmonary embolism" in result.stdout
    record = saved(tmp_path)
    assert record["biases"] == ["self_diagnosis"] and record["outcome"] == "diagnosed"
    assert record["agents"]["patient"] == "human"
    assert record["turns"][0]["observation"].startswith("Patient: It hurts when I breathe")


def test_ctrl_c_saves_the_unfinished_consultation_and_exits(tmp_path: Path):
    process = subprocess.Popen(
        [*COMMAND, "--as", "doctor", "--case", "resp-001", "--out", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(b"What brings you in today?\n")
    process.stdin.flush()
    shown, deadline = b"", time.monotonic() + 60
    while shown.count(b"doctor> ") < 2 and time.monotonic() < deadline:
        if select.select([process.stdout], [], [], 1)[0]:
            shown += os.read(process.stdout.fileno(), 65536)
    assert shown.count(b"doctor> ") == 2, "waiting for the second message"
    process.send_signal(signal.SIGINT)  # stdin stays open: the read must not need an Enter
    out, _ = process.communicate(timeout=20)
    assert process.returncode == 130
    assert b"Stopped after 1 turn(s): saved unfinished" in out
    record = saved(tmp_path)
    assert record["outcome"] == "error" and len(record["turns"]) == 1
    assert "stopped the consultation (Ctrl-C)" in record["error"]
    assert record["validity"] == "doctor_fault"
