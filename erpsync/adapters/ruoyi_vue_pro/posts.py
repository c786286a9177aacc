"""Posts (岗位): which of the tenant's ``system_post`` rows each user holds.

ruoyi-vue-pro keeps a user's posts twice, and its own user service writes both:

- ``system_user_post`` rows (``user_id``, ``post_id``, soft-deleted): what the app goes
  by. Its user update computes what to insert and what to delete from these rows, and
  the workflow engine's post rule (BPM's "岗位" candidate strategy, through
  ``getUserListByPostIds``) finds a post's holders in them. **They are authoritative.**
- ``system_users.post_ids`` (varchar(255), JSON text ``[1,2]``, ``[]`` or NULL): the
  copy the user edit form shows.

So erpsync reads a user's posts from the rows, and reports a user whose ``post_ids``
says otherwise (or is no JSON array of ids) as dirty data, never fixing it silently:
the next change of that user's posts in the app or by erpsync writes both again. A row
naming a post that is not a live post of the tenant (the upstream seed's post 1) is
reported and read as no post; the app's next update of that user's posts deletes it,
and so does erpsync's. Two live posts with one code are reported (the lowest id is the
one a policy's code names).

Posts grant no permission in ruoyi-vue-pro (its permission check and data scopes go by
roles and departments only); they matter to the workflow rules that assign tasks by post.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from erpsync.adapters.ruoyi_vue_pro.attribution import Stamps, later
from erpsync.adapters.ruoyi_vue_pro.invariants import post_ids_text
from erpsync.adapters.ruoyi_vue_pro.keys import ENABLED
from erpsync.adapters.ruoyi_vue_pro.model import Post, TenantModel
from erpsync.adapters.ruoyi_vue_pro.schema import Schema
from erpsync.adapters.ruoyi_vue_pro.tenants import json_ids
from erpsync.i18n import N_

__all__ = ["read_posts"]


def read_posts(
    conn: Connection,
    schema: Schema,
    tenants: Sequence[int],
    models: Mapping[int, TenantModel],
    listed: Mapping[tuple[int, int], Any],
    problems: Mapping[int, list[str]],
    stamps: Stamps,
) -> None:
    """Every tenant's posts and who holds them: one ``SELECT`` per table for all
    ``tenants``. ``listed``: (tenant, user id) -> the user's ``post_ids`` as stored, to
    compare with the rows; a row's stamp later than its user's dates the user (drift)."""
    if not schema.has_posts:
        return
    wanted = sorted(set(tenants))
    for model in models.values():
        model.posts = {}
    codes: dict[tuple[int, str], int] = {}
    p = schema.tables["system_post"]
    query = select(p.c.id, p.c.code, p.c.name, p.c.status, p.c.tenant_id).where(
        p.c.deleted == 0, p.c.tenant_id.in_(wanted)
    )
    for row in conn.execute(query.order_by(p.c.id)):
        model = models[row.tenant_id]
        code = str(row.code or "")
        first = codes.setdefault((row.tenant_id, model.fold(code)), row.id)
        if first != row.id:
            problems[row.tenant_id].append(
                N_(
                    "system_post: posts {first} and {second} share the code {code} in tenant "
                    "{tenant} (the app requires codes unique); a policy's {same} names post "
                    "{kept}"
                ).format(
                    first=first,
                    second=row.id,
                    code=repr(code),
                    tenant=row.tenant_id,
                    same=repr(code),
                    kept=first,
                )
            )
        assert model.posts is not None
        model.posts[row.id] = Post(row.id, code, str(row.name or ""), row.status == ENABLED)
    up = schema.tables["system_user_post"]
    query = select(
        up.c.user_id,
        up.c.post_id,
        up.c.tenant_id,
        up.c.creator,
        up.c.create_time,
        up.c.updater,
        up.c.update_time,
    ).where(up.c.deleted == 0, up.c.tenant_id.in_(wanted))
    for link in conn.execute(query.order_by(up.c.id)):
        model = models[link.tenant_id]
        user = model.users.get(link.user_id)
        if user is None:
            problems[link.tenant_id].append(
                N_(
                    "system_user_post: row (user_id={user}, post_id={post}) points at a user "
                    "not live in tenant {tenant}; skipped"
                ).format(user=link.user_id, post=link.post_id, tenant=link.tenant_id)
            )
            continue
        model.user_posts.setdefault(user.id, set()).add(link.post_id)
        by, at = link.updater or None, link.update_time
        if by is None and at is None:
            by, at = link.creator or None, link.create_time
        later(stamps, link.tenant_id, "user", user.id, by, at)
        if link.post_id not in (model.posts or {}):
            problems[link.tenant_id].append(
                N_(
                    "system_user_post: user {login} holds post {post}, which is no live post of "
                    "tenant {tenant}; read as no post (the app's next update of the user's "
                    "posts deletes the row, as erpsync's does)"
                ).format(login=user.login, post=link.post_id, tenant=link.tenant_id)
            )
    for (tenant, user_id), stored in sorted(listed.items()):
        _compare(models[tenant], user_id, stored, problems[tenant])


def _compare(model: TenantModel, user_id: int, stored: Any, problems: list[str]) -> None:
    """Report a user whose ``post_ids`` disagrees with its ``system_user_post`` rows."""
    user = model.users.get(user_id)
    if user is None:
        return
    held = model.user_posts.get(user_id, set())
    listed = json_ids(stored)
    if listed is None:
        problems.append(
            N_(
                "system_users: user {login} has post_ids {stored}, which is no JSON array of "
                "ids; erpsync reads the user's posts from system_user_post ({ids})"
            ).format(login=user.login, stored=repr(stored), ids=_ids(held))
        )
    elif set(listed) != held:
        problems.append(
            N_(
                "system_users: user {login} has post_ids {stored} but its system_user_post "
                "rows hold {ids}: erpsync reads the rows (the app's workflow rules and its own "
                "user update go by them; its edit form shows post_ids)"
            ).format(login=user.login, stored=repr(stored), ids=_ids(held))
        )


def _ids(ids: Iterable[int]) -> str:
    return post_ids_text(ids)
