"""A name for each run a process starts, so that two runs never share a logger or a visualizer.

MMEngine names a run's logger, visualizer and message hub ``{experiment_name}_{timestamp}`` (the
config's file name when ``experiment_name`` is unset), with the timestamp to the second, and
``get_instance`` hands back an existing instance of that name. Two runners built in one process from
configs with the same file name within one second (a sweep, a notebook, a test session) would
therefore share them: the second run's log lines and ``vis_data`` go to the first run's directory,
which may be gone by then. Numbering each later use of a name in the process keeps them apart; every
rank numbers the same way, since every rank builds the same runs.
"""
from collections import Counter

_uses = Counter()


def unique_experiment_name(name: str) -> str:
    """``name`` the first time this process asks for it, then ``name_2``, ``name_3``, ..."""
    _uses[name] += 1
    return name if _uses[name] == 1 else f'{name}_{_uses[name]}'
