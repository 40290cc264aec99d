"""People's labels: the check on the judge (and on the simulated queries) that no model can give.

`sample.py` draws what to label, `app.py`/`server.py` serve the labelling page, `labels.py`
moves labels between the run store and JSON lines, `label_studio.py` to and from Label
Studio. `ditto eval agreement` then compares the labels with the judge's verdicts.
"""
