"""Adapters map the canonical state onto one ERP's tables; see :mod:`erpsync.adapters.base`."""
