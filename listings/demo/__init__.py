"""Realistic demo data for the Lhasa platform: organisations, technologies, needs and logins.

`python manage.py load_demo` calls `builder.load_demo()`; the texts live in the sibling modules.
"""
