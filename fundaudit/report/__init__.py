"""Reports: what an audit committee reads (findings.json, HTML, Excel, JUnit), each written atomically.
Personal data is masked before it gets here (``fundaudit.masking``)."""
