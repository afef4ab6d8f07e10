"""Suite-wide pytest wiring: the ``writer`` fixture handing each test a ResultWriter."""

import os
import sys

# Tests import helpers.result_writer whether pytest runs from here or from a parent directory.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers.result_writer import writer  # noqa: E402,F401  (importing a fixture registers it)
