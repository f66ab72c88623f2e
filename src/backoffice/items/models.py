"""Tables of the items module."""
