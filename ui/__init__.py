"""The web chat over the rag pipeline (Gradio)."""

import os

# Before any module here imports gradio: it checks for new versions and sends telemetry
# unless told not to, and everything here runs offline.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
