"""Attempts: the rules every area shares (player, grades, class view, marking).

- ``settings``: how a link is marked and which attempt counts;
- ``lifecycle``: the one state machine of an attempt (start, answer, submit, try again);
- ``answers``: reading, saving and scoring the answers inside an attempt;
- ``feedback``: what a lecturer's marking tells the student;
- ``profile``: a student's attempts turned into a capability profile, and a class's mastery
  summed in SQL from the figures stored when each attempt was scored;
- ``evidence``: those stored figures filled in for attempts scored without them.

No Flask here: services take sessions and plain values, flush, and leave the commit to the caller.
"""
