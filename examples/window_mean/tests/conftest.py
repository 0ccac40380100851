"""Make the example package importable from its source folder (no install needed for its own tests)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
