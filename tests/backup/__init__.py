"""Tests of crewchief.backup."""
