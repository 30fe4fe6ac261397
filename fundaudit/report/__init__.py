"""Reports: what an audit committee reads (JSON now; HTML, Excel and JUnit follow), and the
masking of personal data that every report applies."""
