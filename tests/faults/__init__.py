"""Fault injection: kill -9 the engine owner mid-operation, full disks (see harness.py)."""
