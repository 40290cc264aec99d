"""`ditto study`: the paper's analyses and its open questions as resumable commands.

A study is a list of cells (`steps.Cell`): each a model evaluated in one role (before
training, with the profile, after training on some data) on the study's one eval set by its
one judge. `runner.py` makes the steps the cells need, each in a folder named by what
decides it, so studies sharing a folder share their common steps; `run.py` runs a plan and
writes its document. The studies: `cross_supervision` (the paper's Figure 5), `pool_size`,
`query_quality` (its Figure 4) and `ablation`.
"""
