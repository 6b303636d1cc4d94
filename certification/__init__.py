"""Certification: conformance runner, scripts and the certification profile (profile.serve)."""
