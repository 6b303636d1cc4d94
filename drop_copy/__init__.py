"""Drop copy: every execution of a broker's client firms, over FIX, read from the event stream.

Not built yet: this package holds no code so far (see docs/architecture.md).
"""
