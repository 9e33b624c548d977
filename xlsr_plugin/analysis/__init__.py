"""Analyses of trained XLSR models (not imported by ``xlsr_plugin`` itself).

``python -m xlsr_plugin.analysis.units`` counts which codewords of the shared quantizer each
language selects and compares languages by their usage (see ``units.analyze_units``).
"""
