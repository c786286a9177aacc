"""Tests of the ERP adapters."""
