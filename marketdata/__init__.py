"""Market data: books and trades from the event stream, over FIX and WebSocket, ticks stored in ClickHouse.

Not built yet: this package holds no code so far (see docs/architecture.md).
"""
