"""Hostile-input tests: someone with write access, or a tampered file, tries to get past
erpsync unnoticed."""
