"""The ``clinic-env`` console script: one module per command (see ``main``)."""
