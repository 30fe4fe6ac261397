"""Reports: what an audit committee reads (findings.json, HTML, Excel, JUnit), each written atomically.
Personal data is masked before it gets here (``fundaudit.masking``)."""

#: Severities whose amounts make the "money at issue" (info findings are statistical signals, such as an
#: under-spent allocation, and their amounts are never added to it).
AT_ISSUE = ("error", "warning")
