"""The reference ERP's module catalogue (spec section 8): module -> actions, with names.

This is part of the product: the ``reference`` adapter stores it, ``erpsync
catalog`` writes it, and the sample policies are built on it.
"""

from __future__ import annotations

from collections.abc import Mapping

CRUD = ("read", "create", "update", "delete")

REFERENCE_MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "system.user": ("用户管理", CRUD),
    "system.role": ("角色管理", CRUD),
    "system.department": ("部门管理", CRUD),
    "finance.gl_journal": ("总账凭证", (*CRUD, "approve", "post", "export")),
    "finance.ar_invoice": ("应收", (*CRUD, "approve", "export")),
    "finance.ap_invoice": ("应付", (*CRUD, "approve", "export")),
    "finance.payment": ("付款", ("read", "create", "approve", "export")),
    "finance.cost": ("成本核算", ("read", "create", "update", "approve", "export")),
    "finance.report": ("财务报表", ("read", "export", "print")),
    "purchasing.vendor": ("供应商", CRUD),
    "sales.customer": ("客户", CRUD),
    "inventory.warehouse": ("仓库", CRUD),
    "production.bom": ("物料清单", CRUD),
    "purchasing.order": ("采购订单", (*CRUD, "approve", "export", "print")),
    "sales.order": ("销售订单", (*CRUD, "approve", "export", "print")),
    "sales.credit_limit": ("信用额度", ("read", "update", "approve")),
    "inventory.stock": ("库存", ("read", "adjust", "transfer", "export")),
    "production.work_order": ("生产工单", ("read", "create", "update", "approve", "close")),
    "logistics.shipment": ("发运", ("read", "create", "update", "dispatch")),
    "product.item": ("物料", ("read", "create", "update", "delete", "export")),
    "hr.employee": ("员工档案", ("read", "create", "update", "export")),
}

REFERENCE_CATALOGUE: Mapping[str, tuple[str, ...]] = {
    module: actions for module, (_, actions) in REFERENCE_MODULES.items()
}
