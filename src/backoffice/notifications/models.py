"""Tables of the notifications module."""
