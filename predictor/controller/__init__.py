"""The recurrent controller every controller-driven search shares, and its one policy-gradient update.

- `sequence`   `SequenceController`, a recurrent policy over a fixed sequence of categorical
               decisions, and `cell_controller`, the NAS-Bench-101 cell as such a sequence
               (5 ops, then 21 edges, never a 10th edge)
- `reinforce`  the REINFORCE step (Williams 1992) its three users take: the NB101 strategy
               (`search/strategies/reinforce.py`), ENAS (`weight_sharing/`) and `halfmoon/`
"""
