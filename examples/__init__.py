"""End-to-end recipes; each runs with ``python -m examples.<name>`` from the repository root."""
