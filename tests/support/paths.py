"""Where things are in the checkout, for every test (tests/support is on pytest's pythonpath)."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "boards" / "runtime"
FIRMWARE = REPO / "boards" / "firmware"
MODELS = REPO / "models"
DEFAULT_MODEL = FIRMWARE / "default_model.tflite"
