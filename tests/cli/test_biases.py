"""``clinic-env biases list``: one line per bias, with who it applies to, where it is placed and
its source."""

from clinic_env.agents.personas import biases
from clinic_env.cli.main import main


def test_biases_list_prints_one_line_per_bias(capsys):
    assert main(["biases", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    known = biases()
    assert len(lines) == len(known)
    by_id = {line.split()[0]: line for line in lines}
    assert set(by_id) == set(known)
    for bias_id, bias in known.items():
        line = by_id[bias_id]
        assert "+".join(bias.applies_to) in line and bias.source in line
    assert "doctor: brief" in by_id["biasmedqa_recency"]
    assert "doctor: instructions only" in by_id["gender"]
    assert "brief if outside" in by_id["confirmation"]
    assert "patient: instructions" in by_id["self_diagnosis"]
    assert "'cancer'" in by_id["agentclinic_recency"]
