"""Word reports: docxtpl templates (templates/reports/*.docx) rendered in a sandboxed Jinja
environment with autoescape (`render`), their generator (`make_templates`) and the
`backoffice report` commands. What a report holds comes from each module's `reports.py`,
which leaves out the fields the reader may not see; this package only fills templates in.
"""
