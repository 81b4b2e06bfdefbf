"""``clinic-env web``: a local page to play consultations and to browse runs.

:func:`~clinic_env.web.app.create_app` builds the server (FastAPI, the ``web`` extra);
:mod:`~clinic_env.web.play` holds consultations played by a person, and
:mod:`~clinic_env.web.runs` indexes run folders so that large runs page quickly.
"""
