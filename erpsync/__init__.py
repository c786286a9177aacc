"""erpsync: departments, users, roles and module permissions of an ERP, as code.

The pipeline: policies/*.yaml are loaded and validated (:mod:`erpsync.policy`),
resolved into a desired state, compared with the live ERP read by an adapter,
and the difference is a plan that can be reviewed and applied.
"""

__version__ = "0.1.0"
