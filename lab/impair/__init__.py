"""Link impairments that really happen: a user-space relay, since netem may be missing.

`params` parses per-direction impairments, `faults` scripted faults, the pure
`scheduler` and `pipeline` decide per frame, `relay` does the I/O, and
`measure` checks on a running lab that what was configured is what happens.
"""
from lab.impair.params import Impairment, netem_args, parse_link_impairments

__all__ = ["Impairment", "netem_args", "parse_link_impairments"]
