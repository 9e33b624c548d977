"""Shared fixtures: tiny multilingual DATA folders of synthetic speech."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
