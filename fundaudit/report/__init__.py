"""Reports: what an audit committee reads (findings.json, HTML, Excel, JUnit), each written atomically.
Personal data is masked before it gets here (``fundaudit.masking``). What a result holds (finding columns,
the money at issue) is in ``fundaudit.result``, shared with the run."""
