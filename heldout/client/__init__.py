"""The ``heldout`` command-line client: talks to a Heldout server's JSON API, never to its database.

It imports nothing from the server side (no Flask, no SQLAlchemy), so it runs on
a learner's laptop with only ``requests`` and friends.
"""
