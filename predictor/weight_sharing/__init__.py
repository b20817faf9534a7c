"""Weight-sharing search (ENAS) over the NAS-Bench-101 cell space, trained for real on images, and its assessment.

- `architecture`  cells in slot layout (7 slots, pruned in place), op sets with useless ops (poisoning)
- `one_shot`      the one-shot network (every op at every slot, shared weights), the fixed-width network
                  of one cell, and copying shared weights into a network of one cell
- `policy`        ENAS's LSTM controller and REINFORCE with a moving-average baseline and entropy bonus
- `enas`          the ENAS alternation and derivation
- `presets`       named ENAS settings (torch-free, for command lines): the defaults, the reduced CIFAR-10 CPU search
- `standalone`    stand-alone training of one network: the child protocol's "small-data" preset, assessment overrides
- `assessment`    ENAS against random search, one-shot vs stand-alone ranking, poisoning; `plots` its figure
"""
