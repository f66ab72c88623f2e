"""Tables of the employees module."""
