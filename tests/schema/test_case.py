from clinic_env.cli.main import main
from clinic_env.datasets import load_cases
from clinic_env.schema import DoctorView, MeasurementView, PatientView


def test_role_views_carry_no_ground_truth():
    for view_type in (PatientView, MeasurementView, DoctorView):
        assert "ground_truth" not in view_type.model_fields
    case = load_cases("starter")[0]
    for view in (case.patient_view(), case.measurement_view(), case.doctor_view(show_options=True)):
        dumped = view.model_dump_json()
        assert case.ground_truth.diagnosis not in dumped


def test_bundled_cases_do_not_name_their_diagnosis(capsys):
    assert main(["cases", "validate", "starter"]) == 0
    assert "0 ground-truth leak(s)" in capsys.readouterr().out
