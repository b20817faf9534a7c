"""The minimal-nas system on the project's own pieces: a recurrent controller searching small MLPs for halfmoons.

- `space`     architectures (1-6 hidden layers of 1/2/4/8/16 units, each with one of four
              activations) as decision sequences for `SequenceController`, and uniform sampling
- `children`  the halfmoon data and many child MLPs trained at once as one batched program
- `search`    REINFORCE with a decaying entropy bonus, random search, and the loop that runs
              several searches in lockstep over a per-architecture cache of trained children
- `report`    the summary table, the JSON and the accuracy-over-rollouts plot
"""
