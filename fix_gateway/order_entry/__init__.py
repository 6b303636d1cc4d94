"""FIX order entry: the venue's trading application on top of the FIX session layer.

Flow of one order (nothing is acknowledged before it is durable):

    FIX D --> requests.translate (pure: FIX fields -> engine command + RequestMeta, or a reject)
          --> app.OrderEntryApplication queues the 104-byte command record
          --> service: one Envelope per event-loop turn appended to VENUE_CMD (durable)
          --> engine service applies it, appends the answering event batch to VENUE_EVT
          --> service reads the event batch --> orders.OrderBook (pure projection of events)
          --> reports.* ExecutionReport / OrderCancelReject fields --> Acceptor.send

The projection is rebuilt on start by replaying the event stream; what a session has
already been sent is known from its message store (ExecIDs encode the event position), so a
restarted gateway sends each report once and the client's ResendRequest recovers the rest.
"""
