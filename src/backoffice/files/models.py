"""Tables of the files module."""
