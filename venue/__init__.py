"""Shared kernel and composition root of the venue.

Identifiers, enums carrying FIX codes, fixed-point conversion, bus envelopes and codecs,
typed config, the injectable clock, the runtime that starts embedded components, and the
``venue`` CLI. Every other package may import from here; ``venue`` imports from them only in
the composition root (``venue.runtime``, ``venue.cli``).
"""
