"""Plain functions that views call: they take a session and plain values and own the commit."""
