"""MessageStore implementations (fix_gateway.store.MessageStore): memory, postgres."""
