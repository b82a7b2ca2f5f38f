"""What ``wandb_workspaces`` Report.save() sends: GetProjects, upsertModel (CreateProject) and upsertView.

``Report.save()`` lists the entity's projects (``GetProjects``: ``models`` with cursor pages),
creates the report's project when it is new (``upsertModel``), looks up each runset's project
(``ProjectInternalId``, answered by the server's ``project`` field) and saves the view
(``upsertView``). Saved views are kept in ``server.views`` (the input as sent, ``spec`` parsed)
so tests can check what the client wrote.
"""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

from ._gql import Node

if TYPE_CHECKING:
    from ._server import WandbTestServer


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _project(entity: str, name: str) -> Node:
    """A Project with the fields of the client's ProjectFragment and CreatedProjectFragment."""
    return Node("Project", {
        "id": _b64(f"Project:{name}"), "internalId": _b64(f"Project:{name}"), "name": name, "entityName": entity,
        "createdAt": "2026-01-01T00:00:00", "isBenchmark": False, "user": None, "description": "",
        "access": "PRIVATE", "views": "{}", "readOnly": False,
    })


def models(server: WandbTestServer, entityName: str | None = None, after: str | None = None,
           first: int | None = 50) -> Node:
    """``models(entityName, after, first)``: the entity's projects, one cursor page."""
    entity = entityName or server.entity
    names = sorted(name for ent, name in server.projects if ent == entity)
    start = int(after) if after else 0
    page = names[start : start + int(first or 50)]
    edges = [Node("ProjectEdge", {"node": _project(entity, n), "cursor": str(start + i + 1)}) for i, n in enumerate(page)]
    info = Node("PageInfo", {"endCursor": str(start + len(page)), "hasNextPage": start + len(page) < len(names)})
    return Node("ProjectConnection", {"edges": edges, "pageInfo": info})


def mutation_root(server: WandbTestServer) -> Node:
    """The Mutation type: upsertModel and upsertView."""

    def upsert_model(input: dict[str, Any]) -> Node:
        from ._server import _Project

        entity, name = input.get("entityName") or server.entity, input["name"]
        inserted = (entity, name) not in server.projects
        server.projects.setdefault((entity, name), _Project(entity, name))
        project = _project(entity, name)
        return Node("UpsertModelPayload", {"project": project, "model": project, "inserted": inserted})

    def upsert_view(input: dict[str, Any]) -> Node:
        entity, project = input.get("entityName") or server.entity, input.get("projectName") or ""
        if (entity, project) not in server.projects:
            raise KeyError(f"project {entity}/{project} not found")
        view_id = input.get("id") or _b64(f"View:{len(server.views) + 1}")
        saved = {**input, "id": view_id, "spec": json.loads(input["spec"])}
        server.views.append(saved)
        node = Node("View", {
            "id": view_id, "type": input.get("type"), "name": input.get("name"),
            "displayName": input.get("displayName"), "description": input.get("description"),
            "project": Node("Project", {"id": _b64(f"Project:{project}"), "name": project, "entityName": entity}),
            "spec": input["spec"], "updatedAt": time.strftime("%Y-%m-%dT%H:%M:%S"),
        })
        return Node("UpsertViewPayload", {"view": node, "inserted": not input.get("id")})

    return Node("Mutation", {"upsertModel": upsert_model, "upsertView": upsert_view})
