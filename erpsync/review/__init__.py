"""Access certification campaigns (``erpsync review``): reviewers confirm or take away
the access of the people they answer for, and their decisions become policy edits.

- :mod:`.model`: what a campaign lists (sheets of lines) and what comes back (answers);
- :mod:`.sheets`: the sheets as XLSX, CSV and HTML, and reading the filled ones back,
  refusing any edited outside its decision cells.
"""
