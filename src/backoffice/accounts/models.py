"""Tables of the accounts module."""
