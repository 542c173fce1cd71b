"""The 12 classes of the keyword spotting task (Speech Commands, as in the DS-CNN / MLPerf Tiny KWS setup)."""

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SILENCE_LABEL = "silence"
UNKNOWN_LABEL = "unknown"
LABELS = KEYWORDS + (SILENCE_LABEL, UNKNOWN_LABEL)
